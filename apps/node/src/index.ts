export * from "./config.js";
export * from "./collection.js";
export { NodeError, type NodeErrorKind } from "./errors.js";
export { NodeMetrics } from "./metrics.js";
export {
  StorageNode,
  type CollectionView,
  type ComponentUsage,
  type OrphanCollection,
  type RecordInput,
  type RecordOutput,
  type StorageNodeOptions,
} from "./node.js";
export { createHttpServer } from "./http.js";
export { discoverJson, hasProblems, renderStats, statsFromReports } from "./report.js";
export { fileSystemOpener, type OpenFileSystem } from "./storage.js";
