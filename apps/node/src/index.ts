export * from "./config.js";
export * from "./collection.js";
export { CATALOG_FILES, CollectionCatalog, readDefinitionAt } from "./catalog.js";
export { NodeError, type NodeErrorKind } from "./errors.js";
export { HTTP_ERRORS, type HttpErrorEntry, httpErrorOf } from "./http-errors.js";
export type { ComponentStore } from "./engines/component-store.js";
export { decodeLsmValue, encodeLsmValue, recordKey } from "./engines/lsm.js";
export {
  EngineRegistry,
  type FrozenRecords,
  type RecordEngine,
  type RecordEngineOptions,
} from "./engines/registry.js";
export { type LogFormat, createLogger, resolveLogFormat } from "./logging.js";
export { NodeMetrics } from "./metrics.js";
export { StorageNode } from "./node.js";
export type { StorageNodeOptions } from "./engines/open.js";
export type { OrphanCollection } from "./recovery.js";
export type { FlushResult } from "./maintenance.js";
export { createHttpServer } from "./http.js";
export { discoverJson, hasProblems, renderStats, statsFromReports } from "./report.js";
export { fileSystemOpener, type OpenFileSystem } from "./storage.js";
