import { type CollectionId, InvalidArgumentError } from "@proximadb/core";
import { IndexError } from "./errors.js";
import type { Graph } from "./graph.js";
import type { IndexSettings } from "./id-map.js";
import { checkVector, isMetric } from "./metric.js";
import type { CreateIndexOptions, IndexEngineOptions, IndexRecord, IndexStats } from "./types.js";

/** The in-memory state of one collection's index and the rules that change it (no I/O here). */

export const MAX_DIMENSION = 65536;
export const MAX_EF = 4096;
/** The library's labels are unsigned 32-bit. */
export const MAX_LABEL = 0xffffffff;
/** Long loops (batches, builds) give the event loop a turn this often. */
export const YIELD_EVERY = 1000;

/** One collection's index in memory. */
export interface CollectionIndex {
  readonly collection: CollectionId;
  readonly settings: IndexSettings;
  graph: Graph;
  /** id → label of every live record. */
  ids: Map<string, number>;
  /** label → id of every live record. */
  labels: Map<number, string>;
  tombstones: Set<number>;
  nextLabel: number;
  sequence: number;
  savedSequence: number;
  generation: number;
  /** The writer epoch of the saved generation (in its file names; 0: none). */
  generationEpoch: number;
  hnswBytes: number;
  dirty: boolean;
}

/** The engine-wide defaults of the graph settings. */
export type GraphDefaults = Required<NonNullable<IndexEngineOptions["defaults"]>>;

export const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A collection index with nothing in it yet (and nothing saved). */
export function emptyState(collection: CollectionId, settings: IndexSettings, graph: Graph): CollectionIndex {
  return {
    collection,
    settings,
    graph,
    ids: new Map(),
    labels: new Map(),
    tombstones: new Set(),
    nextLabel: 0,
    sequence: 0,
    savedSequence: 0,
    generation: 0,
    generationEpoch: 0,
    hnswBytes: 0,
    dirty: true,
  };
}

export function statsOf(state: CollectionIndex): IndexStats {
  return {
    collection: state.collection,
    settings: state.settings,
    count: state.ids.size,
    tombstones: state.tombstones.size,
    sequence: state.sequence,
    savedSequence: state.savedSequence,
    generation: state.generation,
    dirty: state.dirty,
  };
}

/**
 * The settings of a new index: what `options` names, else the engine's defaults; metric `cosine` by default.
 * @throws InvalidArgumentError
 */
export function resolveSettings(options: CreateIndexOptions, defaults: GraphDefaults): IndexSettings {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError("index settings need at least a dimension");
  }
  const settings: IndexSettings = {
    dimension: options.dimension,
    metric: options.metric ?? "cosine",
    m: options.m ?? defaults.m,
    efConstruction: options.efConstruction ?? defaults.efConstruction,
    efSearch: options.efSearch ?? defaults.efSearch,
  };
  checkSettings(settings);
  return settings;
}

/**
 * Inserts a checked vector under a new label; an id already live is replaced (its old label becomes a
 * tombstone). The new node goes in before the old one is marked, and the maps change with no await between:
 * a search never sees the id twice or not at all.
 */
export function upsert(state: CollectionIndex, recordId: string, vector: number[]): void {
  const label = state.nextLabel++;
  state.graph.add(vector, label);
  const old = state.ids.get(recordId);
  if (old !== undefined) {
    state.graph.markDeleted(old);
    state.labels.delete(old);
    state.tombstones.add(old);
  }
  state.ids.set(recordId, label);
  state.labels.set(label, recordId);
  state.dirty = true;
}

/** Deletes a live id (its label becomes a tombstone); false when it was not live. */
export function remove(state: CollectionIndex, recordId: string): boolean {
  const label = state.ids.get(recordId);
  if (label === undefined) return false;
  state.graph.markDeleted(label);
  state.ids.delete(recordId);
  state.labels.delete(label);
  state.tombstones.add(label);
  state.dirty = true;
  return true;
}

/** @throws InvalidArgumentError */
export function checkSettings(s: IndexSettings): void {
  const int = (name: string, v: unknown, min: number, max: number) => {
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
      throw new InvalidArgumentError(
        `${name} must be an integer in ${min}..${max} (got ${JSON.stringify(v)})`,
      );
    }
  };
  int("dimension", s.dimension, 1, MAX_DIMENSION);
  if (!isMetric(s.metric)) {
    throw new InvalidArgumentError(`metric must be one of cosine, l2, ip (got ${JSON.stringify(s.metric)})`);
  }
  int("m", s.m, 2, 100);
  int("efConstruction", s.efConstruction, s.m, MAX_EF);
  int("efSearch", s.efSearch, 1, MAX_EF);
}

/** @throws InvalidArgumentError */
export function checkSequence(sequence: unknown): number | undefined {
  if (sequence === undefined) return undefined;
  if (!Number.isSafeInteger(sequence) || (sequence as number) < 0) {
    throw new InvalidArgumentError(
      `sequence must be a non-negative integer (got ${JSON.stringify(sequence)})`,
    );
  }
  return sequence as number;
}

/** Checks a batch; returns id → vector with the last record of each id, in first-seen order. */
export function checkRecords(
  records: readonly IndexRecord[],
  settings: IndexSettings,
  collection: string,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r === null || typeof r !== "object" || typeof r.id !== "string" || r.id === "") {
      throw new IndexError("InvalidRecord", `record ${i} needs a non-empty string id`, { collection });
    }
    out.set(
      r.id,
      checkVector(
        r.vector,
        settings.dimension,
        settings.metric,
        `record ${JSON.stringify(r.id)}`,
        collection,
      ),
    );
  }
  return out;
}
