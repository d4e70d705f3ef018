export { S3_CAPABILITIES, S3FileSystem, type S3FileSystemOptions } from "./s3-file-system.js";
export { s3FileSystemProvider } from "./provider.js";
