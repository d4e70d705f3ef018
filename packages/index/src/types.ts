import type { CollectionId } from "@proximadb/core";
import type { EngineOpenOptions } from "@proximadb/engine";
import type { IndexSettings } from "./id-map.js";
import type { Metric, Vector } from "./metric.js";

/** Graph settings used when neither `create` nor the engine's `defaults` name them. */
export const DEFAULT_INDEX_SETTINGS = { m: 32, efConstruction: 200, efSearch: 256 } as const;

/** Options of {@link IndexEngine.open}: the engine base's (minus the component) and the index's own. */
export interface IndexEngineOptions extends EngineOpenOptions {
  /**
   * Local folder for the library's temporary files (it saves and loads only through local paths); every
   * save and load streams between a file here and the collection root's `FileSystem`. Default `os.tmpdir()`.
   */
  readonly tmpDir?: string;
  /** Defaults for {@link IndexEngine.create} (the node's `[storage.index_config]`). */
  readonly defaults?: Partial<Pick<IndexSettings, "m" | "efConstruction" | "efSearch">>;
}

/** Options of {@link IndexEngine.create}. */
export interface CreateIndexOptions {
  /** Vector dimension (1–65,536). */
  readonly dimension: number;
  /** Default `cosine`. */
  readonly metric?: Metric;
  /** HNSW `M` (2–100). Default 32. */
  readonly m?: number;
  /** HNSW `efConstruction` (`m`–4,096). Default 200. */
  readonly efConstruction?: number;
  /** Default search `ef` (1–4,096). Default 256. */
  readonly efSearch?: number;
}

/** A record as the index takes it: its id and its vector (metadata stays in the data engines). */
export interface IndexRecord {
  /** Record id (non-empty). */
  readonly id: string;
  /** Its length must equal the collection's dimension. */
  readonly vector: Vector;
}

/** Options of {@link IndexEngine.add}, {@link IndexEngine.delete} and {@link IndexEngine.rebuild}. */
export interface CoverOptions {
  /** The data sequence (e.g. the flush sequence) these changes come from: `stats().sequence` becomes at least this. */
  readonly sequence?: number;
}

/** Options of {@link IndexEngine.search}. */
export interface SearchOptions {
  /** How many neighbours (1–4,096). */
  readonly k: number;
  /** Candidate list size for this query (1–4,096); default the collection's `efSearch`. At least `k` is used. */
  readonly ef?: number;
}

/** One search result. */
export interface SearchHit {
  readonly id: string;
  /** The distance under the collection's metric, lower is closer (see {@link distance}). */
  readonly score: number;
}

/** What {@link IndexEngine.stats} reports. */
export interface IndexStats {
  readonly collection: CollectionId;
  readonly settings: IndexSettings;
  /** Live (searchable) records. */
  readonly count: number;
  /** Deleted or replaced labels still in the graph (dropped by {@link IndexEngine.compact}). */
  readonly tombstones: number;
  /** The highest data sequence the index covers (in memory; see `savedSequence` for what is on storage). */
  readonly sequence: number;
  /** The sequence the live pair on storage covers. */
  readonly savedSequence: number;
  /** Generation of the live pair on storage. */
  readonly generation: number;
  /** True when memory holds changes that {@link IndexEngine.flush} has not saved yet. */
  readonly dirty: boolean;
}

/** What {@link IndexEngine.flush} did. */
export interface FlushResult {
  /** False when there was nothing unsaved. */
  readonly saved: boolean;
  /** Generation of the live pair. */
  readonly generation: number;
  /** Root-relative keys of the live pair. */
  readonly hnswKey: string;
  readonly idxKey: string;
  /** Size of the `.hnsw` file. */
  readonly hnswBytes: number;
  /** Files of earlier generations (or of interrupted saves) deleted after the commit. */
  readonly garbageRemoved: number;
}

/** What {@link IndexEngine.compact} did. */
export interface CompactResult {
  /** False when there were no tombstones (nothing rebuilt, nothing saved). */
  readonly compacted: boolean;
  /** Tombstones dropped. */
  readonly removed: number;
  /** Live records in the rebuilt graph. */
  readonly count: number;
  /** Generation of the live pair afterwards. */
  readonly generation: number;
}
