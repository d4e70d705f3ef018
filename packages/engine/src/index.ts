export { EngineBase, discoveryDetailFor } from "./engine-base.js";
export { CollectionLocks, PlacedEngine } from "./placed-engine.js";
export type { EngineBaseOptions, StagedFile, StagingCleanup } from "./engine-base.js";
export type { CollectionLocation, EngineOpenOptions, RootAccess, StorageEngine } from "./storage-engine.js";
export { CollectionRefusal, EngineError, isEngineError } from "./errors.js";
export type { EngineErrorKind } from "./errors.js";
export {
  MAX_STAGED_NAME,
  STAGING_LAYOUT,
  WRITERS_DIR,
  type StagingKey,
  heartbeatKey,
  parseStagingKey,
} from "./staging.js";
export {
  EPOCH_DIGITS,
  type EpochStart,
  assertEpoch,
  epochCutoffs,
  epochSuffix,
  fenceMarkerName,
  highestEpoch,
  parseEpochDigits,
  parseFenceMarker,
} from "./epochs.js";
