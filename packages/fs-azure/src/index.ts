export { AZURE_CAPABILITIES, AzureBlobFileSystem } from "./file-system.js";
export { azureFileSystemProvider } from "./provider.js";
export type { AzureAuthMode, AzureCommonOptions, AzureFileSystemOptions } from "./options.js";
export { azureRetryOptions, DEFAULT_AZURE_RETRY_OPTIONS } from "./options.js";
export { AzureErrorSummary, toFsError } from "./errors.js";
