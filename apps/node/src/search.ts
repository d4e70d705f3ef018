import { type IndexEngine, type Metric, distance } from "@proximadb/index";
import { type CollectionDefinition, metricOf } from "./collection.js";
import type { PendingVersion } from "./engines/pending.js";
import type { RecordEngine } from "./engines/registry.js";
import { NodeError } from "./errors.js";

/** One search result: a record and its distance to the query under the collection's metric. */
export interface SearchResult {
  readonly id: string;
  /** Lower is closer (`l2`: Euclidean distance, `cosine`: 1 − cos, `ip`: 1 − a·b). */
  readonly score: number;
  readonly metadata: Record<string, unknown> | null;
}

/** What `POST /collections/:id/search` asks for (checked by the route schema; the dimension by the node). */
export interface SearchQuery {
  readonly vector: readonly number[];
  /** Default 10. */
  readonly k?: number;
  /** HNSW candidate list size for this query (default the collection's `ef_search`). */
  readonly ef?: number;
}

/** The answer: results closest first; `exact` when they come from a full scan (no index ready yet). */
export interface SearchReply {
  readonly results: SearchResult[];
  readonly exact: boolean;
}

/** Default `k`. */
export const DEFAULT_K = 10;
/** Largest `k` and `ef`. */
export const MAX_K = 1000;
export const MAX_EF = 4096;

/** False for a vector `cosine` cannot rank (all zeros). */
export function rankable(metric: Metric, v: ArrayLike<number>): boolean {
  if (metric !== "cosine") return true;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return true;
  return false;
}

/** The `k` best (lowest score) of what is offered, kept sorted. */
export class TopK<T extends { readonly score: number }> {
  readonly items: T[] = [];
  constructor(readonly k: number) {}

  /** Would a result of this score be kept? */
  wants(score: number): boolean {
    return this.items.length < this.k || score < (this.items[this.items.length - 1] as T).score;
  }

  offer(item: T): void {
    if (!this.wants(item.score)) return;
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.items[mid] as T).score <= item.score) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
    if (this.items.length > this.k) this.items.pop();
  }
}

/** Exact score of a record for a query. */
export function scoreOf(metric: Metric, query: readonly number[], vector: ArrayLike<number>): number {
  return distance(metric, query, vector as Float32Array);
}

/** What one search reads. */
export interface SearchSources {
  readonly definition: CollectionDefinition;
  readonly engine: RecordEngine;
  /** The collection's index, when it is ready (else the engine is scanned). */
  readonly index?: IndexEngine;
  /** Versions the index does not hold (a snapshot): ranked exactly, and they hide the index's version. */
  readonly pending: ReadonlyMap<string, PendingVersion>;
  /** An index search failed: the answer comes from a scan instead. */
  readonly onIndexError: (err: unknown) => void;
}

type Candidate = SearchResult & { readonly fromIndex?: boolean };

/**
 * The `k` records closest to `q.vector`: the pending versions ranked by exact distance, merged with the
 * index's hits (each read back from the record engine: its metadata, and its exact score; a record
 * deleted meanwhile is left out), or with a full scan of the engine when there is no ready index.
 * @throws NodeError `InvalidArgument` (wrong dimension, a zero vector under `cosine`)
 */
export async function searchCollection(src: SearchSources, q: SearchQuery): Promise<SearchReply> {
  const def = src.definition;
  const metric = metricOf(def);
  if (q.vector.length !== def.dimension)
    throw new NodeError(
      "InvalidArgument",
      `vector has ${q.vector.length} values; the collection's dimension is ${def.dimension}`,
    );
  if (!rankable(metric, q.vector))
    throw new NodeError("InvalidArgument", "vector must not be all zeros under the cosine metric");
  const k = q.k ?? DEFAULT_K;
  const ranked = () => {
    const top = new TopK<Candidate>(k);
    for (const [id, v] of src.pending)
      if (v.vector && rankable(metric, v.vector))
        top.offer({ id, score: scoreOf(metric, q.vector, v.vector), metadata: v.metadata });
    return top;
  };
  if (src.index) {
    try {
      return { results: await viaIndex(src, src.index, q, k, ranked()), exact: false };
    } catch (err) {
      src.onIndexError(err);
    }
  }
  const top = ranked();
  for await (const r of src.engine.scan(def.id)) {
    if (src.pending.has(r.id) || !rankable(metric, r.vector)) continue;
    const score = scoreOf(metric, q.vector, r.vector);
    if (top.wants(score)) top.offer({ id: r.id, score, metadata: r.metadata });
  }
  return { results: top.items, exact: true };
}

async function viaIndex(
  src: SearchSources,
  index: IndexEngine,
  q: SearchQuery,
  k: number,
  top: TopK<Candidate>,
): Promise<SearchResult[]> {
  const { definition: def, pending } = src;
  const metric = metricOf(def);
  // Ids with a pending version hide their indexed one: ask wider until k others came back.
  let ask = Math.min(k, MAX_EF);
  for (;;) {
    const hits = await index.search(def.id, q.vector, { k: ask, ...(q.ef ? { ef: q.ef } : {}) });
    const usable = hits.filter((h) => !pending.has(h.id));
    if (usable.length >= k || hits.length < ask || ask >= MAX_EF) {
      for (const h of usable) top.offer({ id: h.id, score: h.score, metadata: null, fromIndex: true });
      break;
    }
    ask = Math.min(ask * 2, MAX_EF);
  }
  const read = await Promise.all(
    top.items.map(async (r) => {
      if (!r.fromIndex) return { id: r.id, score: r.score, metadata: r.metadata };
      const found = await src.engine.get(def.id, r.id);
      return found && { id: r.id, score: scoreOf(metric, q.vector, found.vector), metadata: found.metadata };
    }),
  );
  return read.filter((r): r is SearchResult => r !== undefined).sort((a, b) => a.score - b.score);
}
