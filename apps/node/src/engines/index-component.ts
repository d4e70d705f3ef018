import { ClosedError, type CollectionId } from "@proximadb/core";
import type { EngineOpenOptions } from "@proximadb/engine";
import { IndexEngine, type IndexStats, type Metric, isIndexError } from "@proximadb/index";
import type { WalEntry } from "@proximadb/wal";
import pLimit from "p-limit";
import type { Logger } from "pino";
import type { CollectionCatalog } from "../catalog.js";
import { type CollectionDefinition, type EngineKind, metricOf } from "../collection.js";
import type { NodeConfig } from "../config.js";
import { describe } from "../errors.js";
import { type SearchQuery, type SearchReply, rankable, searchCollection } from "../search.js";
import { PendingRecords } from "./pending.js";
import type { FrozenRecords, RecordEngine, ScannedRecord } from "./types.js";

/** Opens the index engine over the `index` roots with the `[storage.index_config]` defaults. */
export function openIndexEngine(options: EngineOpenOptions, config: NodeConfig): Promise<IndexEngine> {
  return IndexEngine.open({ ...options, defaults: config.index });
}

/** Where a collection's index stands. */
export type IndexState = "ready" | "building" | "failed" | "none";

/** The `index` part of `GET /collections/:id`. */
export interface IndexStatus {
  /** `ready`: searches use the index; `building`, `failed`, `none` (no index component): exact scans. */
  readonly state: IndexState;
  /** WAL sequence up to which the index holds every flushed record. */
  readonly indexedSequence: number;
  /** WAL sequence of the newest flush. */
  readonly flushedSequence: number;
  /** Flushed WAL sequences the index does not cover yet (the background builder's lag). */
  readonly lag: number;
  /** Record versions searched from memory (unflushed, or flushed and not indexed yet). */
  readonly pending: number;
  readonly count?: number;
  readonly tombstones?: number;
  readonly error?: string;
}

interface Tracked {
  readonly id: CollectionId;
  readonly pending: PendingRecords;
  definition: CollectionDefinition | undefined;
  state: IndexState;
  indexed: number;
  flushed: number;
  error: string | undefined;
  dropped: boolean;
  /** Index work of the collection, one job at a time (rebuild, catch-ups, compaction). */
  chain: Promise<void>;
}

const ADD_CHUNK = 500;

/**
 * The index component as the node drives it: every record engine is wrapped ({@link NodeSearch.wrap}) so
 * that applied records are noted as pending, a finished flush hands them to a background builder that
 * adds them to the index (and saves it, covering the flush's WAL sequence), and a compaction compacts the
 * index too. At start every collection's index is checked against its WAL checkpoint; one that is
 * missing, unreadable or behind is rebuilt from the engine's scan in the background. Searches merge the
 * index's hits with the pending versions by exact distance, and read every hit back from the record
 * engine (its metadata), so a result never names a deleted or missing record.
 */
export class NodeSearch {
  readonly #index: IndexEngine | undefined;
  readonly #catalog: CollectionCatalog;
  readonly #log: Logger;
  readonly #engines = new Map<EngineKind, RecordEngine>();
  readonly #tracked = new Map<string, Tracked>();
  /** Rebuilds and start-up checks running at once (each loads or builds a whole graph). */
  readonly #heavy = pLimit(2);
  /**
   * Runs a read of a collection's engine files (an index build's scan) counted as the node counts record
   * gets and searches, so that a move retires its source copy only once the scan ended (the node sets it).
   */
  countReads: <T>(id: string, work: () => Promise<T>) => Promise<T> = (_id, work) => work();
  #closing = false;

  constructor(o: { index: IndexEngine | undefined; catalog: CollectionCatalog; logger: Logger }) {
    this.#index = o.index;
    this.#catalog = o.catalog;
    this.#log = o.logger;
  }

  /** The record engine with index upkeep around its `create`, `apply`, `freeze`, `compact` and `drop`. */
  wrap(engine: RecordEngine): RecordEngine {
    this.#engines.set(engine.kind, engine);
    const search = this;
    return {
      kind: engine.kind,
      store: engine.store,
      async create(id, dimension) {
        await engine.create(id, dimension);
        await search.#created(id);
      },
      async apply(id, first, entries) {
        await engine.apply(id, first, entries);
        search.#note(id, first, entries);
      },
      get: (id, recordId) => engine.get(id, recordId),
      scan: (id) => engine.scan(id),
      freeze(id): FrozenRecords {
        const frozen = engine.freeze(id);
        const upTo = search.#tracked.get(id)?.pending.highest ?? 0;
        return {
          write: async () => {
            await frozen.write();
            search.#flushed(id, upTo);
          },
          restore: () => frozen.restore(),
        };
      },
      async compact(id) {
        await engine.compact(id);
        search.#compacted(id);
      },
      files: (id) => engine.files(id),
      async drop(id) {
        await search.#drop(id);
        await engine.drop(id);
      },
      close: () => engine.close(),
      // The engine's own background failures (the LSM tree's), reported through the wrapper's setter.
      get onBackgroundFailure() {
        return engine.onBackgroundFailure;
      },
      set onBackgroundFailure(report) {
        engine.onBackgroundFailure = report;
      },
    };
  }

  /** Checks every served collection's index against its checkpoint (after recovery); rebuilds in the background. */
  start(definitions: readonly CollectionDefinition[]): void {
    for (const def of definitions) {
      const t = this.#track(def.id);
      t.definition = def;
      if (this.#index) t.state = "building";
      this.#enqueue(t, "check", () =>
        this.#heavy(() => {
          this.#assertRunning(t);
          return this.#check(t);
        }),
      );
    }
  }

  /** The collection's index figures, or undefined for a collection this node does not serve. */
  async status(id: string): Promise<IndexStatus | undefined> {
    const t = this.#tracked.get(id);
    if (!t) return undefined;
    let figures: Partial<Pick<IndexStats, "count" | "tombstones">> = {};
    if (t.state === "ready" && this.#index) {
      const s = await this.#index.stats(id).catch(() => undefined);
      if (s) figures = { count: s.count, tombstones: s.tombstones };
    }
    return {
      state: t.state,
      indexedSequence: t.indexed,
      flushedSequence: t.flushed,
      lag: Math.max(0, t.flushed - t.indexed),
      pending: t.pending.versions.size,
      ...figures,
      ...(t.error ? { error: t.error } : {}),
    };
  }

  /**
   * The `k` records closest to the query (see {@link searchCollection}): through the index when it is
   * ready, else by a full scan (`exact: true`).
   * @throws NodeError `InvalidArgument` (wrong dimension, a zero vector under `cosine`)
   */
  search(def: CollectionDefinition, q: SearchQuery): Promise<SearchReply> {
    const t = this.#tracked.get(def.id);
    return searchCollection(
      {
        definition: def,
        engine: this.#engines.get(def.engine) as RecordEngine,
        ...(this.#index && t?.state === "ready" ? { index: this.#index } : {}),
        // Taken before anything is awaited: what was acknowledged before the query is here or indexed.
        pending: new Map(t?.pending.versions ?? []),
        onIndexError: (err) =>
          this.#log.warn({ collection: def.id, err: describe(err) }, "index search failed; scanning"),
      },
      q,
    );
  }

  /** Resolves when the collection's queued index work (builds, catch-ups, compactions) has finished. */
  async idle(id: string): Promise<void> {
    // A job may queue another (a failed create queues a build): wait until the chain stops growing.
    for (;;) {
      const chain = this.#tracked.get(id as CollectionId)?.chain;
      if (chain === undefined) return;
      await chain;
      if (this.#tracked.get(id as CollectionId)?.chain === chain) return;
    }
  }

  /**
   * This node lost the collection (another node owns it): its index upkeep stops (queued work is skipped,
   * the running job settles, nothing more is logged for it) and the index engine lets go of it.
   */
  async relinquish(id: CollectionId): Promise<void> {
    await this.#untrack(id);
    await this.#index?.relinquish(id);
  }

  /** Waits for every collection's index work (rebuilds stop early: the next start redoes them). */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#tracked.values()].map((t) => t.chain));
  }

  #track(id: CollectionId): Tracked {
    let t = this.#tracked.get(id);
    if (!t) {
      t = {
        id,
        pending: new PendingRecords(),
        definition: undefined,
        state: this.#index ? "building" : "none",
        indexed: 0,
        flushed: 0,
        error: undefined,
        dropped: false,
        chain: Promise.resolve(),
      };
      this.#tracked.set(id, t);
    }
    return t;
  }

  #enqueue(t: Tracked, what: string, job: () => Promise<void>): void {
    t.chain = t.chain.then(async () => {
      if (this.#closing || t.dropped) return;
      try {
        await job();
      } catch (err) {
        if (err instanceof ClosedError || t.dropped) return;
        t.error = `${what}: ${describe(err)}`;
        this.#log.error({ collection: t.id, err: describe(err) }, `index ${what} failed`);
      }
    });
  }

  #note(id: CollectionId, first: number, entries: readonly WalEntry[]): void {
    this.#track(id).pending.note(first, entries);
  }

  async #created(id: CollectionId): Promise<void> {
    const t = this.#track(id);
    const def = await this.#catalog.definition(id);
    t.definition = def;
    if (!this.#index || !def) return;
    try {
      // Leftovers of an earlier collection of this id (an interrupted drop) must not come back.
      await this.#index.drop(id);
      await this.#index.create(id, { dimension: def.dimension, metric: metricOf(def) });
      t.state = "ready";
    } catch (err) {
      this.#log.warn(
        { collection: id, err: describe(err) },
        "index not created; building it in the background",
      );
      this.#enqueue(t, "build", () => this.#heavy(() => this.#rebuild(t, 0)));
    }
  }

  #flushed(id: CollectionId, upTo: number): void {
    const t = this.#track(id);
    t.flushed = Math.max(t.flushed, upTo);
    if (!this.#index) {
      // No index: the engine's files hold the flushed versions; exact searches scan them.
      t.pending.release(t.pending.take(upTo, () => true).taken);
      return;
    }
    this.#enqueue(t, "update", () => this.#catchUp(t, upTo));
  }

  #compacted(id: CollectionId): void {
    const t = this.#tracked.get(id);
    const index = this.#index;
    if (!t || !index) return;
    this.#enqueue(t, "compaction", async () => {
      if (t.state === "ready") await index.compact(id);
    });
  }

  async #drop(id: CollectionId): Promise<void> {
    await this.#untrack(id);
    await this.#index?.drop(id);
  }

  /** Stops the collection's upkeep: queued jobs are skipped, the running one settles, failures unlogged. */
  async #untrack(id: CollectionId): Promise<void> {
    const t = this.#tracked.get(id);
    if (!t) return;
    t.dropped = true;
    this.#tracked.delete(id);
    await t.chain;
  }

  /** Adds the flushed pending versions (WAL sequences up to `upTo`) to the index and saves it. */
  async #catchUp(t: Tracked, upTo: number): Promise<void> {
    const index = this.#index as IndexEngine;
    const metric = this.#metric(t);
    const batch = t.pending.take(upTo, (v) => rankable(metric, v));
    if (t.state === "ready" && (upTo > t.indexed || batch.taken.size > 0)) {
      for (let i = 0; i < batch.puts.length; i += ADD_CHUNK) {
        this.#assertRunning(t);
        await index.add(t.id, batch.puts.slice(i, i + ADD_CHUNK));
      }
      await index.delete(t.id, batch.deletes, { sequence: upTo });
      await index.flush(t.id);
      t.indexed = Math.max(t.indexed, upTo);
    }
    // Failed index: the versions are in the engine's files, which exact searches scan.
    t.pending.release(batch.taken);
  }

  /** At start: keeps an index that covers the checkpoint, rebuilds one that is missing, damaged or behind. */
  async #check(t: Tracked): Promise<void> {
    const index = this.#index;
    if (!index || !t.definition) {
      t.state = "none";
      return;
    }
    const def = t.definition;
    const checkpoint = await this.#catalog.checkpoint(def.id).catch(() => Number.MAX_SAFE_INTEGER);
    t.flushed = Math.max(t.flushed, checkpoint === Number.MAX_SAFE_INTEGER ? 0 : checkpoint);
    let stats: IndexStats | undefined;
    try {
      stats = await index.stats(def.id);
    } catch (err) {
      if (!isIndexError(err, "NotFound"))
        this.#log.warn({ collection: def.id, err: describe(err) }, "unreadable index; rebuilding it");
    }
    const fits =
      stats && stats.settings.dimension === def.dimension && stats.settings.metric === metricOf(def);
    if (stats && fits && stats.savedSequence >= checkpoint) {
      t.indexed = stats.savedSequence;
      t.state = "ready";
      return;
    }
    if (stats === undefined || !fits) await index.drop(def.id);
    await this.#rebuild(t, checkpoint === Number.MAX_SAFE_INTEGER ? 0 : checkpoint);
  }

  /** Replaces the index by one built from the engine's scan; it covers the checkpoint `covered`. */
  async #rebuild(t: Tracked, covered: number): Promise<void> {
    const index = this.#index as IndexEngine;
    const def = t.definition ?? (await this.#catalog.definition(t.id));
    if (!def) return;
    t.definition = def;
    t.state = "building";
    const metric = metricOf(def);
    const engine = this.#engines.get(def.engine) as RecordEngine;
    const search = this;
    const id = def.id;
    async function* source(): AsyncGenerator<ScannedRecord> {
      let n = 0;
      for await (const r of engine.scan(id)) {
        if (++n % ADD_CHUNK === 0) search.#assertRunning(t);
        if (rankable(metric, r.vector)) yield r;
      }
    }
    try {
      const t0 = performance.now();
      const stats = await this.countReads(def.id, () =>
        index.rebuild(def.id, source(), {
          sequence: covered,
          settings: { dimension: def.dimension, metric },
        }),
      );
      t.indexed = covered;
      t.state = "ready";
      t.error = undefined;
      const ms = Math.round(performance.now() - t0);
      this.#log.info({ collection: def.id, records: stats.count, ms }, "index built");
    } catch (err) {
      t.state = this.#closing || t.dropped ? "building" : "failed";
      throw err;
    }
  }

  #metric(t: Tracked): Metric {
    return t.definition ? metricOf(t.definition) : "cosine";
  }

  #assertRunning(t: Tracked): void {
    if (this.#closing || t.dropped) throw new ClosedError("index builder", t.id);
  }
}
