export {
  DEFAULT_GCS_RETRY_OPTIONS,
  GCS_CAPABILITIES,
  GcsFileSystem,
  type GcsFileSystemOptions,
  type RetryOptions,
  createGcsClient,
  gcsFileSystemProvider,
} from "./gcs-file-system.js";
export { backoffDelayMs, type GcsBackoff } from "./backoff.js";
export { retryAfterMsOf } from "./errors.js";
