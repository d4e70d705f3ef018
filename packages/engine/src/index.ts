export { EngineBase } from "./engine-base.js";
export type { EngineBaseOptions, StagedFile, StagingCleanup } from "./engine-base.js";
export type { CollectionLocation, EngineOpenOptions, RootAccess, StorageEngine } from "./storage-engine.js";
export { EngineError, isEngineError } from "./errors.js";
export type { EngineErrorKind } from "./errors.js";
