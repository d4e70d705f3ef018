export { ViperEngine } from "./viper-engine.js";
export type { ViperEngineOptions, FlushResult, CompactOptions, CompactResult } from "./engine-types.js";
export type { StoredRecord, VectorRecord } from "./records.js";
export { ViperError, isViperError, type ViperErrorKind } from "./errors.js";
export {
  type DataFile,
  type LiveSet,
  VECTORS_DIR,
  compactedFileName,
  epochOfFile,
  fenceMarkerFileName,
  flushFileName,
  liveSet,
  parseDataFileName,
} from "./layout.js";
export {
  type RecordColumns,
  type KeyColumns,
  type EncodeOptions,
  DEFAULT_PAGE_BYTES,
  DEFAULT_ROW_GROUP_BYTES,
  DIMENSION_KEY,
  FORMAT_KEY,
  FORMAT_VERSION,
  decodeKeys,
  decodeParquet,
  encodeParquet,
} from "./format.js";
