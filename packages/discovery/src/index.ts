/**
 * Rebuilds storage assignments from the roots alone: lists each root, recognises collections by their
 * data files, and reports conflicts, offline roots and skipped keys.
 * @packageDocumentation
 */
export { classifyKey, type KeyClass } from "./classify.js";
export * from "./deployment/index.js";
export { discover, discoverAll, isNewRoot } from "./discover.js";
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
export type {
  ConflictReport,
  DiscoveredCollection,
  DiscoverOptions,
  DiscoveryEvent,
  DiscoveryReport,
  IgnoredEntry,
  IgnoredReason,
  ListingPlan,
  DeploymentRootEntry,
  DeploymentRootState,
  PlanCosts,
  RootMarker,
  RootMarkerV1,
  RootMarkerV2,
  RootReport,
  RootStatus,
  UnconfiguredRoot,
} from "./types.js";
