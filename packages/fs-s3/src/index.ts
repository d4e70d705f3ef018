export { S3_CAPABILITIES, S3FileSystem, type S3FileSystemOptions } from "./s3-file-system.js";
export { s3FileSystemProvider } from "./provider.js";
export {
  DEFAULT_S3_BACKOFF,
  S3BackoffRetryStrategy,
  type S3BackoffSettings,
  type S3RetryErrorInfo,
  type S3RetryToken,
} from "./retry.js";
