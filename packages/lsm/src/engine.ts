import {
  ClosedError,
  type CollectionId,
  type ComponentType,
  InvalidArgumentError,
  isFsError,
  listAll,
  parseCollectionId,
} from "@proximadb/core";
import {
  type CollectionLocation,
  EngineBase,
  type EngineOpenOptions,
  PlacedEngine,
  type StorageEngine,
  assertEpoch,
} from "@proximadb/engine";
import { type Bytes, toBytes } from "./bytes.js";
import { BlockCache } from "./cache.js";
import { lsmFenceMarkerName, parseLsmFenceMarker } from "./sstable.js";
import { LsmTree, type LsmTreeOptions, type LsmTreeStats } from "./tree.js";

/** Options of {@link LsmEngine.open}: the shared engine options plus tuning. */
export interface LsmEngineOptions extends EngineOpenOptions {
  /** Memtable size that triggers a flush (default 4 MiB). */
  memtableBytes?: number;
  /** Files per level that trigger merging the level into one file of the next (default 4). */
  levelFanout?: number;
  /** Target data block size (default 4096). */
  blockBytes?: number;
  /** Bloom filter bits per key (default 10, about 1 % false positives). */
  bloomBitsPerKey?: number;
  /** Block cache (raw verified data blocks in one ring, CLOCK eviction, bounded by bytes) shared by every collection (default 64 MiB; 0 disables it). */
  blockCacheBytes?: number;
}

/** One write of {@link LsmEngine.batch}. */
export type LsmBatchOp =
  | { readonly type: "put"; readonly key: Bytes; readonly value: Bytes }
  | { readonly type: "delete"; readonly key: Bytes };

/** Range of {@link LsmEngine.scan}: `gte ≤ key < lt`, at most `limit` entries. */
export interface LsmScanRange {
  readonly gte?: Bytes;
  readonly lt?: Bytes;
  readonly limit?: number;
}

/** One entry returned by {@link LsmEngine.scan}. */
export interface LsmEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/**
 * The LSM engine: per collection an ordered key-value store whose SSTables live under
 * `<root>/<id>/level-<n>/<number>.sst` in the collection's assigned root. Flushes and compactions are
 * staged under `<id>/_staging/` and committed by one same-root move through the engine base.
 *
 * Unflushed writes live only in memory: durability before a flush is the WAL's job.
 *
 * @example
 * const lsm = await LsmEngine.open({ service, openFileSystem: (root) => new LocalFileSystem(root) });
 * await lsm.put("orders", "k1", "v1");
 * await lsm.flush("orders"); // orders/level-0/00000001.sst
 * for await (const { key, value } of lsm.scan("orders", { gte: "k" })) console.log(key, value);
 * await lsm.close();
 */
export class LsmEngine extends PlacedEngine implements StorageEngine {
  readonly component: ComponentType = "lsm";
  /** Placement, staging and commits. */
  readonly #base: EngineBase;
  readonly #trees = new Map<CollectionId, Promise<LsmTree>>();
  /** Loaded trees, for a lookup without a promise hop on the hot path (keys are valid ids). */
  readonly #ready = new Map<string, LsmTree>();
  readonly #cache: BlockCache;
  readonly #tuning: LsmTreeOptions;
  #closed = false;

  private constructor(base: EngineBase, cache: BlockCache, tuning: LsmTreeOptions) {
    super(base);
    this.#base = base;
    this.#cache = cache;
    this.#tuning = tuning;
  }

  /**
   * Opens the engine: discovery over the `lsm` roots, placement map, stale staging removed. Trees are
   * loaded lazily, on a collection's first use.
   * @throws InvalidArgumentError for bad tuning values, and whatever {@link EngineBase.open} throws
   */
  static async open(options: LsmEngineOptions): Promise<LsmEngine> {
    const positive = (name: string, v: number | undefined, dflt: number, min: number): number => {
      const value = v ?? dflt;
      if (!(Number.isFinite(value) && value >= min))
        throw new InvalidArgumentError(`${name} must be a number ≥ ${min} (got ${value})`);
      return value;
    };
    const tuning: LsmTreeOptions = {
      memtableBytes: positive("memtableBytes", options.memtableBytes, 4 * 1024 * 1024, 1),
      levelFanout: Math.floor(positive("levelFanout", options.levelFanout, 4, 2)),
      blockBytes: positive("blockBytes", options.blockBytes, 4096, 64),
      bloomBitsPerKey: positive("bloomBitsPerKey", options.bloomBitsPerKey, 10, 1),
    };
    const cache = new BlockCache(positive("blockCacheBytes", options.blockCacheBytes, 64 * 1024 * 1024, 0));
    const { memtableBytes, levelFanout, blockBytes, bloomBitsPerKey, blockCacheBytes, ...baseOptions } =
      options;
    const base = await EngineBase.open({ ...baseOptions, component: "lsm" });
    return new LsmEngine(base, cache, tuning);
  }

  /** Stores `value` under `key` (in the memtable; flushed when it fills). */
  put(id: string, key: Bytes, value: Bytes): Promise<void> {
    return this.batch(id, [{ type: "put", key, value }]);
  }

  /** Deletes `key` (a tombstone until compaction reaches the deepest level). */
  delete(id: string, key: Bytes): Promise<void> {
    return this.batch(id, [{ type: "delete", key }]);
  }

  /**
   * Applies writes in order, all into the same memtable (later ops on a key win). Resolves once the
   * writes are in the memtable: a full memtable is flushed in the background, and the call waits only
   * when background work piles up. A failed background flush or compaction is thrown by the next
   * `batch`, `flush` or `close` of the collection.
   */
  async batch(id: string, ops: readonly LsmBatchOp[]): Promise<void> {
    this.assertOpen();
    if (this.#base.requireFence) this.#base.assertMayModify(parseCollectionId(id));
    const tree = this.#ready.get(id) ?? (await this.#tree(id, true));
    // The memtable copies keys and values (one slab per batch): the caller may reuse its buffers.
    await tree.write(ops);
  }

  /** The value of `key` (a copy the caller owns), or `undefined`. */
  get(id: string, key: Bytes): Promise<Uint8Array | undefined> {
    try {
      this.assertOpen();
      // Loaded trees answer without a promise hop of their own; the first use of a collection loads it.
      const k = toBytes(key);
      const tree = this.#ready.get(id);
      if (tree) return tree.get(k).catch((err: unknown) => this.#readAgain(id, tree, k, err));
      return this.#tree(id, false).then((t) =>
        t?.get(k).catch((err: unknown) => this.#readAgain(id, t, k, err)),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A get whose table file vanished because a move released the tree while the read ran (the source copy
   * is retired right after the switch-over; on object stores that moves its objects): read once more from
   * the tree now current. Any other failure, or a tree still current, is the get's answer.
   */
  #readAgain(id: string, tree: LsmTree, key: Uint8Array, err: unknown): Promise<Uint8Array | undefined> {
    if (!isFsError(err, "NotFound") || this.#ready.get(id) === tree) return Promise.reject(err);
    return this.#tree(id, false).then((t) => t?.get(key));
  }

  /** Live entries in ascending key order within the range (tombstones hidden). */
  async *scan(id: string, range: LsmScanRange = {}): AsyncGenerator<LsmEntry> {
    this.assertOpen();
    const tree = this.#ready.get(id) ?? (await this.#tree(id, false));
    if (!tree) return;
    const r: { gte?: Uint8Array; lt?: Uint8Array; limit?: number } = {};
    if (range.gte !== undefined) r.gte = toBytes(range.gte);
    if (range.lt !== undefined) r.lt = toBytes(range.lt);
    if (range.limit !== undefined) r.limit = range.limit;
    yield* tree.scan(r);
  }

  /** Writes the collection's memtable to a level-0 SSTable (then compacts levels that are full). */
  async flush(id: string): Promise<void> {
    await (await this.#tree(id, false))?.flush();
  }

  /** Flushes, then merges every SSTable of the collection into one, dropping tombstones. */
  async compact(id: string): Promise<void> {
    await (await this.#tree(id, false))?.compact();
  }

  /** The tree's shape (levels and file numbers), or `undefined` for an unknown collection. */
  async stats(id: string): Promise<LsmTreeStats | undefined> {
    return (await this.#tree(id, false))?.stats();
  }

  /**
   * Fences the collection at writer epoch `epoch` (see the README's "Fencing"): reloads its tree from a
   * new listing (a tree loaded before is flushed first at its old epoch when no other owner wrote since,
   * else closed without flushing: its writes are a stale owner's; the WAL replay after the fence redoes
   * what the new owner needs),
   * refuses an epoch below the highest the listing shows, and durably writes the marker
   * `level-fence-e<epoch>-<next file number>`: from then on a table of a lower epoch numbered at or past
   * it (a stale owner's flush or compaction after the takeover) is never read, and this engine's tables
   * are named with the epoch. Places the collection when it has no LSM root yet. The same epoch again does
   * nothing.
   * @throws InvalidArgumentError for an epoch that is not a positive safe integer; EngineError `StaleEpoch`
   *   when the collection is at a higher epoch
   */
  async fence(id: string, epoch: number): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    assertEpoch(epoch);
    if (this.#base.isFenced(collection) && this.#base.epochOf(collection) === epoch) return;
    const old = await this.#trees.get(collection)?.catch(() => undefined);
    this.#trees.delete(collection);
    this.#ready.delete(collection);
    if (old) {
      // Unflushed writes of this node as the collection's writer so far are kept (flushed at its old epoch)
      // unless another owner wrote since: then the flush is refused (StaleEpoch) and they are dropped.
      if (this.#base.mayModify(collection)) await old.flush().catch(() => undefined);
      await old.close(false);
    }
    const location = await this.#base.place(collection);
    // The fresh tree raises the found epoch (a lower fence is refused) but writes nothing yet.
    const tree = await this.#tree(collection, true);
    await this.#base.fence(collection, epoch);
    this.#base.assertWritable(location);
    const marker = `${location.dir}${lsmFenceMarkerName(epoch, tree.stats().nextNumber)}`;
    await location.fs.write(marker, new Uint8Array(0), { durable: true });
  }

  /** The writer epoch of the collection: fenced here, else the highest its table names showed (0: none). */
  epochOf(id: string): number {
    this.assertOpen();
    return this.#base.epochOf(id);
  }

  /** Deletes every file of the collection and forgets its placement. Unflushed writes are discarded. */
  async drop(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const tree = this.#trees.get(collection);
    this.#trees.delete(collection);
    this.#ready.delete(collection);
    if (tree) await (await tree.catch(() => undefined))?.close(false);
    await this.#base.drop(collection);
  }

  /**
   * Writes the collection's memtable to an SSTable, closes its tree and forgets it, deleting nothing: the
   * next access loads the tree again where `locate` then points (after a move). See `StorageEngine.release`.
   */
  async release(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const tree = this.#trees.get(collection);
    if (!tree) return;
    const loaded = await tree.catch(() => undefined);
    await loaded?.close(true);
    if (this.#trees.get(collection) === tree) {
      this.#trees.delete(collection);
      this.#ready.delete(collection);
    }
  }

  /**
   * This node lost the collection (see `StorageEngine.relinquish`): closes its tree without a flush (its
   * memtable was a lost owner's; the new owner replays the WAL), forgets its fence and removes this node's
   * staging of it.
   */
  async relinquish(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const tree = this.#trees.get(collection);
    if (tree) {
      this.#trees.delete(collection);
      this.#ready.delete(collection);
    }
    await (await tree?.catch(() => undefined))?.close(false);
    await this.#base.relinquish(collection);
  }

  /**
   * Closes the engine. With `flush` (the default) every memtable is flushed first; without it unflushed
   * writes are dropped, as after a crash (the WAL replays them). A second call does nothing.
   */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const trees = [...this.#trees.values()];
    this.#trees.clear();
    this.#ready.clear();
    try {
      for (const t of trees) await (await t.catch(() => undefined))?.close(options.flush ?? true);
    } finally {
      await this.#base.close();
    }
  }

  protected override assertOpen(): void {
    if (this.#closed) throw new ClosedError("lsm engine");
  }

  /** Before a commit or a delete: refuses when not fenced (requireFence) or fenced out by a higher epoch. */
  async #checkFence(location: CollectionLocation): Promise<void> {
    const collection = location.collection;
    this.#base.assertMayModify(collection);
    if (this.#base.epochOf(collection) === 0) return; // no epochs anywhere: a single writer, as ever
    const { files } = await listAll(location.fs, `${location.dir}level-fence-`);
    let highest = 0;
    for (const f of files) {
      const m = parseLsmFenceMarker(f.key.slice(location.dir.length));
      if (m) highest = Math.max(highest, m.epoch);
    }
    this.#base.assertNotFencedOut(collection, highest);
  }

  #tree(id: string, create: true): Promise<LsmTree>;
  #tree(id: string, create: false): Promise<LsmTree | undefined>;
  #tree(id: string, create: boolean): Promise<LsmTree | undefined> {
    if (this.#closed) return Promise.reject(new ClosedError("lsm engine"));
    const collection = parseCollectionId(id);
    const known = this.#trees.get(collection);
    if (known) return known;
    if (!create && this.#base.locate(collection) === undefined) return Promise.resolve(undefined);
    const p = (async () => {
      const location = await this.#base.place(collection);
      const tree = await LsmTree.load(
        {
          fs: location.fs,
          dir: location.dir,
          cache: this.#cache,
          stage: (name) => this.#base.stage(collection, name),
          commit: (staged, finalName) => this.#base.commit(staged, finalName),
          assertWritable: () => this.#base.assertWritable(location),
          epoch: () => this.#base.epochOf(collection),
          checkFence: () => this.#checkFence(location),
        },
        this.#tuning,
      );
      this.#base.observeEpoch(collection, tree.epochOnStorage);
      return tree;
    })();
    p.then(
      (tree) => {
        if (this.#trees.get(collection) === p) this.#ready.set(collection, tree);
      },
      () => undefined,
    );
    this.#trees.set(collection, p);
    p.catch(() => {
      if (this.#trees.get(collection) === p) this.#trees.delete(collection);
    });
    return p;
  }
}
