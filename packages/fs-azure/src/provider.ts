import type { FileSystem, FileSystemProvider, StorageRoot } from "@proximadb/core";
import { AzureBlobFileSystem } from "./file-system.js";
import type { AzureFileSystemOptions } from "./options.js";

/**
 * A {@link FileSystemProvider} for `adls://` roots: every root it opens shares `options` (credentials,
 * endpoint, retries). Opening never touches the network and never creates the container.
 *
 * @example
 * const provider = azureFileSystemProvider({ credential: new DefaultAzureCredential() });
 * const fs = provider.open(parseStorageUrl("adls://acct/data/viper"));
 */
export function azureFileSystemProvider(options: AzureFileSystemOptions): FileSystemProvider {
  return {
    schemes: ["adls"],
    open(root: StorageRoot): FileSystem {
      return new AzureBlobFileSystem(root, options);
    },
  };
}
