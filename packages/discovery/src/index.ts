/**
 * Rebuilds storage assignments from the roots alone: lists each root, recognises collections by their
 * data files, and reports conflicts, offline roots and skipped keys.
 * @packageDocumentation
 */
export { classifyKey, type KeyClass } from "./classify.js";
export { discover, discoverAll, isNewRoot } from "./discover.js";
export { collectionSizes } from "./measure.js";
export {
  ensureRootMarker,
  ForeignRootError,
  type ForeignRootReason,
  parseRootMarker,
  ROOT_MARKER_FILE,
  readRootMarker,
} from "./marker.js";
export { type RecordMismatch, type RecordResult, recordInto } from "./record.js";
export type {
  CollectionCopy,
  CollectionSizes,
  ConflictReport,
  DiscoveredCollection,
  DiscoverOptions,
  DiscoveryDetail,
  DiscoveryEvent,
  DiscoveryReport,
  IgnoredEntry,
  IgnoredReason,
  ListingPlan,
  PlanCosts,
  RootMarker,
  RootReport,
  RootStatus,
  RootSummary,
} from "./types.js";
