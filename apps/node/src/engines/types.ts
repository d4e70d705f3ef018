/**
 * The record-engine contract (what the registry opens and the node drives), apart from the registry so
 * that the engines implementing it need not import the registry that imports them.
 */
import type { CollectionId } from "@proximadb/core";
import type { EngineOpenOptions } from "@proximadb/engine";
import type { WalEntry } from "@proximadb/wal";
import type { EngineKind, RecordOutput } from "../collection.js";
import type { NodeConfig } from "../config.js";
import type { ComponentStore } from "./component-store.js";

/** What a flush takes out of an engine's memory, taken while appends wait at the collection's gate. */
export interface FrozenRecords {
  /** Writes the taken records into the engine's files (a Parquet file, an SSTable). */
  write(): Promise<void>;
  /** After a failed write: puts the taken records back under any newer ones. */
  restore(): void;
}

/**
 * One storage engine as the node drives it, per collection: records in (puts and deletes in WAL order),
 * reads, flush of what memory holds, compaction, file counts, drop. Each {@link EngineKind} has one
 * implementation, registered in {@link EngineRegistry}; nothing outside the registry branches on the kind.
 */
export interface RecordEngine {
  readonly kind: EngineKind;
  /** The engine's component: where each collection's files live. */
  readonly store: ComponentStore;
  /** Prepares a placed collection whose definition was just written (VIPER: a file carrying the dimension). */
  create(id: CollectionId, dimension: number): Promise<void>;
  /** Applies WAL-ordered puts and deletes (WAL sequences `first`, `first + 1`, …) to the engine's memory. */
  apply(id: CollectionId, first: number, entries: readonly WalEntry[]): Promise<void>;
  /** The newest version of a record (memory first, then files), or undefined when absent or deleted. */
  get(id: CollectionId, recordId: string): Promise<RecordOutput | undefined>;
  /**
   * Every live record in the engine's files (LSM: its memtable too; VIPER's buffer is not included), for
   * an index rebuild and exact search. Newer versions may still be in memory.
   */
  scan(id: CollectionId): AsyncIterable<ScannedRecord>;
  /** Takes what memory holds for a flush. Called with appends held, so it is exactly what was applied. */
  freeze(id: CollectionId): FrozenRecords;
  /** Merges the collection's files. */
  compact(id: CollectionId): Promise<void>;
  /** How many live data files the collection has (the compaction trigger counts them). */
  files(id: CollectionId): Promise<number>;
  /** Deletes the collection's files and memory and forgets its placement. */
  drop(id: CollectionId): Promise<void>;
  /** Closes the engine without flushing (the WAL holds what memory held). */
  close(): Promise<void>;
  /**
   * Told of a failure of the engine's own background work (LSM: a memtable flush or compaction it
   * started itself), found after the fact; set by the node, which marks the collection degraded. Such a
   * failure never fails the {@link apply} that finds it.
   */
  onBackgroundFailure: ((id: CollectionId, err: unknown) => void) | undefined;
}

/** A record as {@link RecordEngine.scan} yields it. */
export interface ScannedRecord {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Record<string, unknown> | null;
}

/** Options every record engine opens with (engine-base options plus the node's configuration). */
export interface RecordEngineOptions extends EngineOpenOptions {
  readonly config: NodeConfig;
}
