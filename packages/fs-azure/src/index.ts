export { AzureBlobFileSystem } from "./file-system.js";
export { azureFileSystemProvider } from "./provider.js";
export type { AzureAuthMode, AzureCommonOptions, AzureFileSystemOptions } from "./options.js";
export { AzureErrorSummary, toFsError } from "./errors.js";
