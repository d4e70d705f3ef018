export { EngineBase } from "./engine-base.js";
export type { CollectionLocation, EngineBaseOptions, StagedFile, StagingCleanup } from "./engine-base.js";
export { EngineError, isEngineError } from "./errors.js";
export type { EngineErrorKind } from "./errors.js";
