import type { FileSystemProvider, StorageRoot } from "@proximadb/core";
import { S3FileSystem, type S3FileSystemOptions } from "./s3-file-system.js";

/**
 * A {@link FileSystemProvider} for `s3://` roots: every root it opens uses the same options
 * (endpoint, region, credentials or a shared client).
 */
export function s3FileSystemProvider(options: S3FileSystemOptions = {}): FileSystemProvider {
  return {
    schemes: ["s3"],
    open(root: StorageRoot) {
      return new S3FileSystem(root, options);
    },
  };
}
