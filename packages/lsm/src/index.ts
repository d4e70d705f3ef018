export { LsmEngine } from "./engine.js";
export type { LsmBatchOp, LsmEngineOptions, LsmEntry, LsmScanRange } from "./engine.js";
export type { LsmTreeStats } from "./tree.js";
export { LsmCorruptionError, isLsmCorruptionError } from "./errors.js";
export type { LsmCorruptionKind } from "./errors.js";
export {
  FOOTER_SIZE,
  SST_MAGIC,
  SST_VERSION,
  lsmFenceMarkerName,
  parseLsmFenceMarker,
  parseSstName,
  sstName,
} from "./sstable.js";
export type { FileId } from "./sstable.js";
export type { Bytes } from "./bytes.js";
