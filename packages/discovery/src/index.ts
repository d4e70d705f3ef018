/**
 * Rebuilds storage assignments from the roots alone: lists each root, recognises collections by their
 * data files, and reports conflicts, offline roots and skipped keys.
 * @packageDocumentation
 */
export { classifyKey, type KeyClass } from "./classify.js";
export * from "./deployment/index.js";
export { discover, discoverAll, isNewRoot } from "./discover.js";
export { collectionSizes } from "./measure.js";
export {
  assertMarkerFits,
  ensureRootMarker,
  ForeignRootError,
  type ForeignRootKind,
  type ForeignRootReason,
  markerRootUuid,
  parseRootMarker,
  ROOT_MARKER_FILE,
  readRootMarker,
  vouchedUrls,
} from "./marker.js";
export { type RecordMismatch, type RecordResult, recordInto } from "./record.js";
/** Every type of reports, markers and options (`types.ts` holds types only). */
export type * from "./types.js";
