export { IndexEngine } from "./index-engine.js";
// DEFAULT_INDEX_SETTINGS and the option and result types (CompactResult, CoverOptions, CreateIndexOptions,
// FlushResult, IndexEngineOptions, IndexRecord, IndexStats, SearchHit, SearchOptions).
export * from "./types.js";
export type { IndexSettings } from "./id-map.js";
export { IndexError, isIndexError } from "./errors.js";
export type { IndexErrorKind } from "./errors.js";
export { distance, METRICS } from "./metric.js";
export type { Metric, Vector } from "./metric.js";
export { indexFenceMarkerName, indexFileName, indexFiles, parseIndexFileName } from "./layout.js";
export type { IndexFile, IndexFiles } from "./layout.js";
