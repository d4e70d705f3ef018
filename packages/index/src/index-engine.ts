import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ClosedError,
  type CollectionId,
  DataCorruptionError,
  InvalidArgumentError,
  listAll,
  parseCollectionId,
} from "@proximadb/core";
import type { CollectionLocation, StorageEngine } from "@proximadb/engine";
import { CollectionLocks, EngineBase, PlacedEngine, assertEpoch } from "@proximadb/engine";
import {
  type CollectionIndex,
  type GraphDefaults,
  MAX_EF,
  MAX_LABEL,
  YIELD_EVERY,
  checkRecords,
  checkSettings,
  checkSequence,
  emptyState,
  remove,
  resolveSettings,
  statsOf,
  upsert,
  yieldToLoop,
} from "./collection-index.js";
import { IndexError } from "./errors.js";
import { Graph } from "./graph.js";
import { type IdMapSnapshot, type IndexSettings, decodeIdMap, encodeIdMap } from "./id-map.js";
import { indexFenceMarkerName, indexFileName, indexFiles } from "./layout.js";
import { type Vector, checkVector, scoreOf } from "./metric.js";
import {
  type CompactResult,
  type CoverOptions,
  type CreateIndexOptions,
  DEFAULT_INDEX_SETTINGS,
  type FlushResult,
  type IndexEngineOptions,
  type IndexRecord,
  type IndexStats,
  type SearchHit,
  type SearchOptions,
} from "./types.js";

/**
 * The index engine: per collection an HNSW graph (hnswlib) and its id map, saved as generation-named
 * `index-<g>.hnsw` / `index-<g>.idx` pairs directly under `<id>/` in the collection's index root. Every save
 * is staged under `<id>/_staging/` and committed by same-root moves, `.hnsw` first and `.idx` as the commit
 * point; the live pair is the highest generation with both files (see the README's crash rule).
 *
 * Changes (`add`, `delete`, `compact`, `rebuild`) apply in memory at once and reach storage at
 * {@link IndexEngine.flush} (and at `close`). One writer per collection: changes of one collection are
 * serialised in this process; two processes must not write the same collection.
 *
 * @example
 * const index = await IndexEngine.open({ service, openFileSystem: (root) => new LocalFileSystem(root) });
 * await index.create("docs", { dimension: 3, metric: "cosine" });
 * await index.add("docs", [{ id: "a", vector: [1, 0, 0] }, { id: "b", vector: [0, 1, 0] }]);
 * await index.search("docs", [0.9, 0.1, 0], { k: 1 }); // [{ id: "a", score: 0.006… }]
 * await index.flush("docs"); // docs/index-0000000000000002.hnsw + .idx
 */
export class IndexEngine extends PlacedEngine implements StorageEngine {
  /** Always `"index"`. */
  readonly component = "index" as const;
  readonly #base: EngineBase;
  readonly #tmpDir: string;
  readonly #defaults: GraphDefaults;
  readonly #states = new Map<CollectionId, CollectionIndex>();
  readonly #loads = new Map<CollectionId, Promise<CollectionIndex | undefined>>();
  readonly #locks = new CollectionLocks();
  #closed = false;

  private constructor(base: EngineBase, tmpDir: string, defaults: GraphDefaults) {
    super(base);
    this.#base = base;
    this.#tmpDir = tmpDir;
    this.#defaults = defaults;
  }

  /**
   * Opens the index engine: discovery over the index roots (unless `report` is given), the placement map,
   * stale staging removed, and a private temporary folder under `tmpDir`. Indexes load on first use.
   * @throws InvalidArgumentError for bad `defaults` (and the engine base's errors)
   */
  static async open(options: IndexEngineOptions): Promise<IndexEngine> {
    const { tmpDir, defaults, ...rest } = options;
    const merged = {
      m: defaults?.m ?? DEFAULT_INDEX_SETTINGS.m,
      efConstruction: defaults?.efConstruction ?? DEFAULT_INDEX_SETTINGS.efConstruction,
      efSearch: defaults?.efSearch ?? DEFAULT_INDEX_SETTINGS.efSearch,
    };
    checkSettings({ dimension: 1, metric: "cosine", ...merged });
    const base = await EngineBase.open({ ...rest, component: "index" });
    try {
      const dir = await mkdtemp(join(tmpDir ?? tmpdir(), "proximadb-index-"));
      return new IndexEngine(base, dir, merged);
    } catch (err) {
      await base.close();
      throw err;
    }
  }

  /**
   * Fences the collection at writer epoch `epoch` (see the README's "Fencing"): lists its files, refuses an
   * epoch below the highest they show, saves unsaved changes at the old epoch when no other owner wrote
   * since (else drops them: a stale owner's), forgets the index held in memory (the next use loads the
   * live pair again; the WAL replay after the fence redoes what the new owner needs) and durably writes the marker
   * `index-fence-e<epoch>-<next generation>`: from then on a generation of a lower epoch at or past it (a
   * stale owner's save after the takeover) is never loaded, and this engine's saves are named with the
   * epoch. Places the collection when it has no index root yet. The same epoch again does nothing.
   * @throws InvalidArgumentError for an epoch that is not a positive safe integer; EngineError `StaleEpoch`
   *   when the collection is at a higher epoch
   */
  async fence(id: string, epoch: number): Promise<void> {
    const collection = parseCollectionId(id);
    assertEpoch(epoch);
    await this.#exclusive(collection, "fence", async () => {
      if (this.#base.isFenced(collection) && this.#base.epochOf(collection) === epoch) return;
      await this.#loads.get(collection)?.catch(() => undefined);
      const location = await this.#base.place(collection);
      const held = this.#states.get(collection);
      if (held?.dirty && this.#base.mayModify(collection)) {
        // Unsaved changes of this node as the writer so far are saved at its old epoch, unless another
        // owner wrote since (the save is refused with StaleEpoch and they are dropped).
        await this.#save(held, location).catch(() => undefined);
      }
      const files = indexFiles(location.dir, (await listAll(location.fs, location.dir)).files);
      this.#base.observeEpoch(collection, files.epoch);
      await this.#base.fence(collection, epoch);
      const first = Math.max(files.nextGeneration, (held?.generation ?? 0) + 1);
      this.#base.assertWritable(location);
      await location.fs.write(`${location.dir}${indexFenceMarkerName(epoch, first)}`, new Uint8Array(0), {
        durable: true,
      });
      this.#states.delete(collection);
    });
  }

  /** The writer epoch of the collection: fenced here, else the highest its file names showed (0: none). */
  epochOf(id: string): number {
    this.assertOpen("epochOf");
    return this.#base.epochOf(id);
  }

  /**
   * Creates a collection's index, empty, and saves it (generation 1) so that it survives a restart.
   * Creating it again with the same dimension and metric (and no other explicit setting) does nothing.
   * @throws InvalidArgumentError for settings out of range; IndexError `AlreadyExists` when it exists with other settings
   */
  async create(id: string, options: CreateIndexOptions): Promise<IndexSettings> {
    const collection = parseCollectionId(id);
    const settings = resolveSettings(options, this.#defaults);
    return this.#exclusive(collection, "create", async () => {
      const existing = await this.#state(collection);
      if (existing) {
        const s = existing.settings;
        const differs =
          s.dimension !== settings.dimension ||
          s.metric !== settings.metric ||
          (options.m !== undefined && s.m !== options.m) ||
          (options.efConstruction !== undefined && s.efConstruction !== options.efConstruction) ||
          (options.efSearch !== undefined && s.efSearch !== options.efSearch);
        if (differs) {
          throw new IndexError(
            "AlreadyExists",
            `collection ${collection} already has an index with ${JSON.stringify(s)}`,
            { collection },
          );
        }
        return s;
      }
      const state = emptyState(collection, settings, Graph.create(settings));
      await this.#save(state, await this.#base.place(collection));
      this.#states.set(collection, state);
      return settings;
    });
  }

  /**
   * Adds records; an id already in the index is replaced (its old vector becomes a tombstone). Of several
   * records with one id in a batch, the last wins. Every record is checked before anything changes.
   * @throws IndexError `NotFound`, `DimensionMismatch`, `InvalidRecord`
   */
  async add(id: string, records: readonly IndexRecord[], options: CoverOptions = {}): Promise<void> {
    const collection = parseCollectionId(id);
    const sequence = checkSequence(options.sequence);
    if (!Array.isArray(records))
      throw new IndexError("InvalidRecord", "records must be an array", { collection });
    await this.#exclusive(collection, "add", async () => {
      this.#base.assertMayModify(collection);
      const state = await this.#required(collection);
      const batch = checkRecords(records, state.settings, collection);
      if (state.nextLabel + batch.size > MAX_LABEL) {
        throw new IndexError("InvalidRecord", `collection ${collection} ran out of labels: compact it`, {
          collection,
        });
      }
      let n = 0;
      for (const [recordId, vector] of batch) {
        upsert(state, recordId, vector);
        if (++n % YIELD_EVERY === 0) await yieldToLoop();
      }
      if (sequence !== undefined && sequence > state.sequence) {
        state.sequence = sequence;
        state.dirty = true;
      }
    });
  }

  /**
   * Deletes records by id: each becomes a tombstone in the id map and is never returned again. Unknown ids
   * are skipped. Returns how many were deleted.
   * @throws IndexError `NotFound`, `InvalidRecord`
   */
  async delete(id: string, ids: readonly string[], options: CoverOptions = {}): Promise<number> {
    const collection = parseCollectionId(id);
    const sequence = checkSequence(options.sequence);
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== "string" || x === "")) {
      throw new IndexError("InvalidRecord", "ids must be an array of non-empty strings", { collection });
    }
    return this.#exclusive(collection, "delete", async () => {
      this.#base.assertMayModify(collection);
      const state = await this.#required(collection);
      let deleted = 0;
      for (const recordId of ids) if (remove(state, recordId)) deleted++;
      if (sequence !== undefined && sequence > state.sequence) {
        state.sequence = sequence;
        state.dirty = true;
      }
      return deleted;
    });
  }

  /**
   * The `k` nearest live records to `vector`, closest first, with their distance under the collection's
   * metric as `score` (lower is closer; see {@link distance}). Deleted records are never returned.
   * @throws IndexError `NotFound`, `DimensionMismatch`, `InvalidRecord`; InvalidArgumentError for `k`/`ef`
   */
  async search(id: string, vector: Vector, options: SearchOptions): Promise<SearchHit[]> {
    const collection = parseCollectionId(id);
    this.assertOpen("search");
    const k = options?.k;
    if (!Number.isInteger(k) || k < 1 || k > MAX_EF) {
      throw new InvalidArgumentError(`k must be an integer in 1..${MAX_EF} (got ${k})`);
    }
    const ef = options.ef;
    if (ef !== undefined && (!Number.isInteger(ef) || ef < 1 || ef > MAX_EF)) {
      throw new InvalidArgumentError(`ef must be an integer in 1..${MAX_EF} (got ${ef})`);
    }
    const state = await this.#required(collection);
    const { settings } = state;
    const query = checkVector(vector, settings.dimension, settings.metric, "query vector", collection);
    const live = state.ids.size;
    if (live === 0) return [];
    const want = Math.min(k, live);
    // The library skips deleted nodes itself; the id map is checked too, and a short answer (a graph
    // thinned by many deletions) is retried wider.
    let ask = want;
    for (;;) {
      const r = state.graph.search(query, ask, Math.max(ef ?? settings.efSearch, ask));
      const hits: SearchHit[] = [];
      for (let i = 0; i < r.labels.length && hits.length < want; i++) {
        const recordId = state.labels.get(r.labels[i] as number);
        if (recordId !== undefined)
          hits.push({ id: recordId, score: scoreOf(settings.metric, r.distances[i] as number) });
      }
      if (hits.length >= want || ask >= state.graph.size) return hits;
      ask = Math.min(ask * 2, state.graph.size);
    }
  }

  /**
   * Saves the collection's index if memory holds unsaved changes: a new generation, staged under
   * `<id>/_staging/`, committed `.hnsw` first and `.idx` last, then earlier generations deleted.
   * @throws IndexError `NotFound`; FsError from the root
   */
  async flush(id: string): Promise<FlushResult> {
    const collection = parseCollectionId(id);
    return this.#exclusive(collection, "flush", async () => {
      const state = await this.#required(collection);
      const location = this.#located(collection);
      if (!state.dirty) {
        return {
          saved: false,
          generation: state.generation,
          hnswKey: `${location.dir}${indexFileName(state.generation, "hnsw", state.generationEpoch)}`,
          idxKey: `${location.dir}${indexFileName(state.generation, "idx", state.generationEpoch)}`,
          hnswBytes: state.hnswBytes,
          garbageRemoved: 0,
        };
      }
      return this.#save(state, location);
    });
  }

  /**
   * Rebuilds the graph from its live records only (vectors read back from the graph itself), dropping every
   * tombstone, and saves it. Searches keep using the old graph until the new one is in place.
   * @throws IndexError `NotFound`
   */
  async compact(id: string): Promise<CompactResult> {
    const collection = parseCollectionId(id);
    return this.#exclusive(collection, "compact", async () => {
      const state = await this.#required(collection);
      const removed = state.tombstones.size;
      if (removed === 0) {
        return { compacted: false, removed: 0, count: state.ids.size, generation: state.generation };
      }
      const graph = Graph.create(state.settings, state.ids.size);
      const ids = new Map<string, number>();
      const labels = new Map<number, string>();
      let label = 0;
      // Ascending old labels = insertion order: the rebuilt graph is the one a fresh build would give.
      for (const [oldLabel, recordId] of [...state.labels].sort((a, b) => a[0] - b[0])) {
        graph.add(state.graph.vector(oldLabel), label);
        ids.set(recordId, label);
        labels.set(label, recordId);
        if (++label % YIELD_EVERY === 0) await yieldToLoop();
      }
      Object.assign(state, {
        graph,
        ids,
        labels,
        tombstones: new Set<number>(),
        nextLabel: label,
        dirty: true,
      });
      const saved = await this.#save(state, this.#located(collection));
      return { compacted: true, removed, count: ids.size, generation: saved.generation };
    });
  }

  /**
   * Replaces the collection's index by one built from `source` (e.g. a scan of the collection's data), and
   * saves it. A collection without an index needs `settings`. Nothing changes when `source` fails or holds
   * a bad record. Of several records with one id, the last wins.
   * @throws IndexError `NotFound` (no index and no `settings`), `DimensionMismatch`, `InvalidRecord`
   */
  async rebuild(
    id: string,
    source: AsyncIterable<IndexRecord> | Iterable<IndexRecord>,
    options: CoverOptions & { settings?: CreateIndexOptions } = {},
  ): Promise<IndexStats> {
    const collection = parseCollectionId(id);
    const sequence = checkSequence(options.sequence);
    return this.#exclusive(collection, "rebuild", async () => {
      const existing = await this.#state(collection);
      let settings = existing?.settings;
      if (!settings) {
        const s = options.settings;
        if (!s) {
          throw new IndexError("NotFound", `collection ${collection} has no index; rebuild needs settings`, {
            collection,
          });
        }
        settings = resolveSettings(s, this.#defaults);
      }
      const state = emptyState(collection, settings, Graph.create(settings));
      state.sequence = sequence ?? existing?.sequence ?? 0;
      state.generation = existing?.generation ?? 0;
      let n = 0;
      for await (const record of source) {
        if (
          record === null ||
          typeof record !== "object" ||
          typeof record.id !== "string" ||
          record.id === ""
        ) {
          throw new IndexError("InvalidRecord", `record ${n} needs a non-empty string id`, { collection });
        }
        const vector = checkVector(
          record.vector,
          settings.dimension,
          settings.metric,
          `record ${JSON.stringify(record.id)}`,
          collection,
        );
        upsert(state, record.id, vector);
        if (++n % YIELD_EVERY === 0) await yieldToLoop();
      }
      await this.#save(state, await this.#base.place(collection));
      this.#states.set(collection, state);
      return statsOf(state);
    });
  }

  /**
   * True when the record is live in the index (added and not deleted since).
   * @throws IndexError `NotFound`
   */
  async has(id: string, recordId: string): Promise<boolean> {
    const collection = parseCollectionId(id);
    this.assertOpen("has");
    return (await this.#required(collection)).ids.has(recordId);
  }

  /**
   * The collection's index figures.
   * @throws IndexError `NotFound`
   */
  async stats(id: string): Promise<IndexStats> {
    const collection = parseCollectionId(id);
    this.assertOpen("stats");
    return statsOf(await this.#required(collection));
  }

  /**
   * Deletes every index file of the collection and forgets its placement. Dropping a collection without an
   * index does nothing.
   */
  async drop(id: string): Promise<void> {
    const collection = parseCollectionId(id);
    await this.#forget(collection, "drop", () => this.#base.drop(collection));
  }

  /**
   * This node lost the collection (see `StorageEngine.relinquish`): after the work in flight, drops the
   * index held in memory with its unsaved changes (a lost owner's), forgets its fence and removes this
   * node's staging of it.
   */
  async relinquish(id: string): Promise<void> {
    const collection = parseCollectionId(id);
    await this.#forget(collection, "relinquish", () => this.#base.relinquish(collection));
  }

  /** After the work in flight, forgets the index held in memory, then runs `then` (drop, relinquish). */
  #forget(collection: CollectionId, operation: string, then: () => Promise<void>): Promise<void> {
    return this.#exclusive(collection, operation, async () => {
      // A load in flight (a search's) must not bring the forgotten index back into memory afterwards.
      await this.#loads.get(collection)?.catch(() => undefined);
      this.#states.delete(collection);
      await then();
    });
  }

  /**
   * Saves every collection with unsaved changes (unless `flush: false`), then closes the roots' file
   * systems and removes the temporary folder. Later calls throw `ClosedError`. The first failed save is
   * rethrown after everything is closed.
   */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    let failure: unknown;
    if (options.flush ?? true) {
      for (const [collection, state] of this.#states) {
        if (!state.dirty) continue;
        try {
          await this.flush(collection);
        } catch (err) {
          failure ??= err;
        }
      }
    }
    this.#closed = true;
    await this.#locks.idle();
    this.#states.clear();
    await this.#base.close();
    await rm(this.#tmpDir, { recursive: true, force: true });
    if (failure !== undefined) throw failure;
  }

  async #save(state: CollectionIndex, location: CollectionLocation): Promise<FlushResult> {
    const { collection } = state;
    const { fs, dir } = location;
    this.#base.assertMayModify(collection);
    const before = indexFiles(dir, (await listAll(fs, dir)).files);
    // A writer fenced out by a higher epoch saves nothing and deletes nothing.
    this.#base.assertNotFencedOut(collection, before.epoch);
    const generation = Math.max(before.nextGeneration, state.generation + 1);
    const epoch = this.#base.epochOf(collection);
    const hnswName = indexFileName(generation, "hnsw", epoch);
    const idxName = indexFileName(generation, "idx", epoch);

    const stagedGraph = await this.#base.stage(collection, hnswName);
    const digest = await state.graph.save(stagedGraph.fs, stagedGraph.key, this.#tmpDir);
    const hnswKey = await this.#base.commit(stagedGraph, hnswName, { overwrite: false });

    const labels: number[] = [];
    const ids: string[] = [];
    for (const [recordId, label] of state.ids) {
      ids.push(recordId);
      labels.push(label);
    }
    const snapshot: IdMapSnapshot = {
      collection,
      settings: state.settings,
      generation,
      sequence: state.sequence,
      nextLabel: state.nextLabel,
      hnsw: digest,
      ids,
      labels,
      tombstones: [...state.tombstones],
    };
    const stagedMap = await this.#base.stage(collection, idxName);
    await stagedMap.fs.write(stagedMap.key, encodeIdMap(snapshot), { durable: true });
    // The commit point: from here on this generation is live.
    const idxKey = await this.#base.commit(stagedMap, idxName, { overwrite: false });
    state.generation = generation;
    state.generationEpoch = epoch;
    state.savedSequence = state.sequence;
    state.hnswBytes = digest.bytes;
    state.dirty = false;

    // A takeover may have happened since the listing above: the fenced-out writer's generation is ignored,
    // and the generation it replaced is still what the new owner reads. Look again before deleting.
    this.#base.assertNotFencedOut(collection, indexFiles(dir, (await listAll(fs, dir)).files).epoch);
    const garbage = [...before.garbage];
    if (before.live) garbage.push(before.live.idx, before.live.hnsw);
    // Every `.idx` goes before any `.hnsw`: an interrupted clean-up never leaves an `.idx` whose graph is gone
    // at a generation that could look live.
    const order = [...garbage.filter((f) => f.kind === "idx"), ...garbage.filter((f) => f.kind === "hnsw")];
    for (const f of order) await fs.delete(f.key);
    return {
      saved: true,
      generation,
      hnswKey,
      idxKey,
      hnswBytes: digest.bytes,
      garbageRemoved: order.length,
    };
  }

  /** The collection's index in memory, loading the live pair on first use; undefined when it has none. */
  async #state(collection: CollectionId): Promise<CollectionIndex | undefined> {
    const cached = this.#states.get(collection);
    if (cached) return cached;
    let load = this.#loads.get(collection);
    if (!load) {
      load = this.#load(collection).finally(() => this.#loads.delete(collection));
      this.#loads.set(collection, load);
    }
    const state = await load;
    if (state && !this.#states.has(collection)) this.#states.set(collection, state);
    return this.#states.get(collection) ?? state;
  }

  async #required(collection: CollectionId): Promise<CollectionIndex> {
    const state = await this.#state(collection);
    if (!state) throw new IndexError("NotFound", `collection ${collection} has no index`, { collection });
    return state;
  }

  async #load(collection: CollectionId): Promise<CollectionIndex | undefined> {
    const location = this.#base.locate(collection);
    if (!location) return undefined;
    const { fs, dir } = location;
    const { live, epoch } = indexFiles(dir, (await listAll(fs, dir)).files);
    this.#base.observeEpoch(collection, epoch);
    if (!live) return undefined;
    const where = { key: live.idx.key, root: location.url };
    const map = decodeIdMap(await fs.read(live.idx.key), where);
    if (map.collection !== collection || map.generation !== live.generation) {
      throw new DataCorruptionError(
        `index id map ${live.idx.key} belongs to ${map.collection} generation ${map.generation}`,
        where,
      );
    }
    const graph = await Graph.load(fs, live.hnsw.key, map.hnsw, map.settings, this.#tmpDir);
    if (graph.size !== map.labels.length + map.tombstones.length) {
      throw new DataCorruptionError(
        `index graph ${live.hnsw.key} holds ${graph.size} nodes, its id map ${map.labels.length + map.tombstones.length}`,
        { key: live.hnsw.key, root: location.url },
      );
    }
    const state = emptyState(collection, map.settings, graph);
    for (let i = 0; i < map.ids.length; i++) {
      state.ids.set(map.ids[i] as string, map.labels[i] as number);
      state.labels.set(map.labels[i] as number, map.ids[i] as string);
    }
    state.tombstones = new Set(map.tombstones);
    state.nextLabel = map.nextLabel;
    state.sequence = map.sequence;
    state.savedSequence = map.sequence;
    state.generation = map.generation;
    state.generationEpoch = live.idx.epoch ?? 0;
    state.hnswBytes = map.hnsw.bytes;
    state.dirty = false;
    return state;
  }

  #located(collection: CollectionId): CollectionLocation {
    const location = this.#base.locate(collection);
    if (!location)
      throw new IndexError("NotFound", `collection ${collection} has no index root`, { collection });
    return location;
  }

  protected override assertOpen(operation: string): void {
    if (this.#closed) throw new ClosedError("index engine", operation);
  }

  #exclusive<T>(collection: CollectionId, operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError("index engine", operation));
    return this.#locks.run(collection, fn);
  }
}
