import { type FileSystem, listAll } from "@proximadb/core";
import type { StagedFile } from "@proximadb/engine";
import { hash32 } from "./bloom.js";
import { compareBytes, compareRange, copyOut, latin1 } from "./bytes.js";
import { type Cursor, MemCursor, MergeCursor, TableCursor } from "./merge.js";
import { type MemWrite, Memtable } from "./memtable.js";
import { type PickedCompaction, pickCompaction, pickFullCompaction } from "./picker.js";
import { TreeShape } from "./shape.js";
import type { BlockCache } from "./cache.js";
import { type EpochStart, epochCutoffs, highestEpoch } from "@proximadb/engine";
import {
  type FileId,
  parseLsmFenceMarker,
  parseSstName,
  SSTable,
  SSTableWriter,
  sstName,
} from "./sstable.js";

/** Tuning of one tree (see {@link LsmEngineOptions}). */
export interface LsmTreeOptions {
  readonly memtableBytes: number;
  readonly levelFanout: number;
  readonly blockBytes: number;
  readonly bloomBitsPerKey: number;
}

/** What a tree needs from the engine: its collection's directory and the engine base's stage/commit. */
export interface TreeStorage {
  readonly fs: FileSystem;
  /** `"<id>/"`. */
  readonly dir: string;
  readonly cache: BlockCache;
  stage(name: string): Promise<StagedFile>;
  commit(staged: StagedFile, finalName: string): Promise<string>;
  /** Throws (core's RootOfflineError) when the root may not be written now; called before deletes. */
  assertWritable?(): void;
  /** The writer epoch new tables are named with (default 0: names without an epoch). */
  epoch?(): number;
  /**
   * Throws when this writer may not change the tree's files (fenced out by a higher epoch, see the
   * README's "Fencing"); called before every commit and before garbage is deleted.
   */
  checkFence?(): Promise<void>;
}

/** A snapshot of a tree's shape, for tests, metrics and operators. */
export interface LsmTreeStats {
  /** Live files per level: `levels[n]` lists the numbers of `level-n/` files, newest first. */
  readonly levels: readonly (readonly number[])[];
  /** Bytes held by the active memtable. */
  readonly memtableBytes: number;
  /** Full memtables frozen and waiting for (or in) their background flush. */
  readonly frozenMemtables: number;
  /** Next file number. */
  readonly nextNumber: number;
  /** Dead files waiting to be deleted (in-flight reads, or a failed delete retried later). */
  readonly garbage: number;
}

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

/** Frozen memtables allowed before writers wait for the flush chain (double buffering plus one). */
export const MAX_FROZEN = 2;
/** Writers wait for compaction while level 0 holds this many × `levelFanout` files. */
export const L0_STOP_FACTOR = 3;

/**
 * One collection's LSM tree. Newest data wins in this order: the active memtable, memtables being
 * flushed (newest first), then level 0, 1, … and inside a level the higher file number. Tiered compaction
 * keeps that order true: a level with `levelFanout` files is merged whole into one file of the next level.
 *
 * The live tables and the garbage are a {@link TreeShape}: flushes, compactions and deletes each make a
 * `TreeEdit` after their I/O and swap in the shape it yields; what to compact is
 * {@link pickCompaction}'s answer for the current shape.
 *
 * Maintenance runs in the background: a full memtable is frozen (still readable) and a new one takes
 * writes at once, while the frozen one is flushed and full levels are compacted. Two chains do the work:
 * flushes (oldest frozen memtable first, so level-0 numbers follow recency) and compactions (one at a
 * time, so numbers inside a level ≥ 1 follow recency too). They may overlap: a flush only adds a level-0
 * file, which outranks every compaction output. Writers wait only when work piles up: more than
 * {@link MAX_FROZEN} frozen memtables, or level 0 holding {@link L0_STOP_FACTOR} × `levelFanout` files.
 * A background failure is kept and thrown by the next write, flush or close (the data stays readable in
 * the frozen memtable and its flush is retried).
 */
export class LsmTree {
  #mem = new Memtable();
  /** Frozen memtables waiting for (or in) their flush, newest first. */
  #frozen: Memtable[] = [];
  /** Live tables and garbage; replaced (never changed) by every flush, compaction and delete. */
  #shape: TreeShape<SSTable>;
  #next: number;
  #readers = 0;
  #gc: Promise<void> | undefined;
  /** The running flush chain (drains {@link #frozen}), if any. */
  #flushing: Promise<void> | undefined;
  /** The running compaction chain, if any. */
  #compacting: Promise<void> | undefined;
  /** Serialises compactions (background and {@link compact}). */
  #compactLock: Promise<unknown> = Promise.resolve();
  /** Serialises renames and deletes (see {@link #namespace}). */
  #nsLock: Promise<unknown> = Promise.resolve();
  /** A background failure not yet reported to a caller. */
  #failure: { error: unknown } | undefined;
  /** Keys of tables a stale owner committed after a higher epoch started: never read, deleted by the owner. */
  #stale: string[];
  /** The highest writer epoch the listing at load showed (0: none). */
  readonly epochOnStorage: number;

  private constructor(
    readonly storage: TreeStorage,
    readonly options: LsmTreeOptions,
    shape: TreeShape<SSTable>,
    next: number,
    stale: string[],
    epochOnStorage: number,
  ) {
    this.#shape = shape;
    this.#next = next;
    this.#stale = stale;
    this.epochOnStorage = epochOnStorage;
  }

  /**
   * Loads a tree from the listing of `<id>/level-*​/`: opens (and verifies) every table, treats files
   * named in a present file's `replaces` as dead and deletes them, oldest first.
   * @throws LsmCorruptionError when a table fails verification, DataCorruptionError when two tables share
   *   a number (nothing is deleted then)
   */
  static async load(storage: TreeStorage, options: LsmTreeOptions): Promise<LsmTree> {
    const { files } = await listAll(storage.fs, `${storage.dir}level-`);
    const parsed: { id: FileId; epoch: number; key: string; size: number }[] = [];
    const starts: EpochStart[] = [];
    let next = 1;
    for (const f of files) {
      const name = f.key.slice(storage.dir.length);
      const id = parseSstName(name);
      if (id) {
        const epoch = id.epoch ?? 0;
        parsed.push({ id: { level: id.level, number: id.number }, epoch, key: f.key, size: f.size });
        starts.push({ epoch, first: id.number });
        next = Math.max(next, id.number + 1);
        continue;
      }
      const fence = parseLsmFenceMarker(name);
      if (fence) {
        starts.push(fence);
        next = Math.max(next, fence.first);
      }
    }
    // Fencing: a table of epoch e numbered at or past the start of a higher epoch is a stale owner's.
    const cutoff = epochCutoffs(starts);
    const stale = parsed.filter((f) => f.id.number >= cutoff(f.epoch)).map((f) => f.key);
    const found = parsed.filter((f) => f.id.number < cutoff(f.epoch));
    const tables: SSTable[] = [];
    for (let i = 0; i < found.length; i += 16) {
      const slice = found.slice(i, i + 16);
      tables.push(...(await Promise.all(slice.map((f) => SSTable.open(storage.fs, f.key, f.size, f.id)))));
    }
    const { shape, nextNumber } = TreeShape.recover(tables);
    const tree = new LsmTree(
      storage,
      options,
      shape,
      Math.max(nextNumber, next),
      stale,
      highestEpoch(starts),
    );
    await tree.#collectGarbage();
    return tree;
  }

  /** The tree's shape. */
  stats(): LsmTreeStats {
    return {
      levels: this.#shape.levels.map((l) => l.map((t) => t.number)),
      memtableBytes: this.#mem.bytes,
      frozenMemtables: this.#frozen.length,
      nextNumber: this.#next,
      garbage: this.#shape.garbage.length + this.#stale.length,
    };
  }

  /**
   * Applies writes to the memtable. A full memtable is frozen and flushed in the background; the call
   * waits only for back-pressure (see the class notes).
   * @throws the error of a failed background flush or compaction, once, before applying anything (a
   *   rejected call has applied nothing)
   */
  async write(ops: readonly MemWrite[]): Promise<void> {
    this.#throwFailure();
    const mem = this.#mem;
    mem.apply(ops);
    if (mem.bytes < this.options.memtableBytes) return;
    this.#freeze();
    this.#startFlushing();
    // Back-pressure: bounded memory in frozen memtables, bounded read cost in level 0.
    const l0Stop = L0_STOP_FACTOR * this.options.levelFanout;
    while (
      this.#failure === undefined &&
      ((this.#frozen.length > MAX_FROZEN && this.#flushing) ||
        (this.#shape.tablesIn(0) >= l0Stop && this.#compacting))
    ) {
      await (this.#frozen.length > MAX_FROZEN ? this.#flushing : this.#compacting);
    }
    // The ops are applied: a failure found while waiting is left for the next call, which applies nothing.
  }

  #throwFailure(): void {
    const f = this.#failure;
    if (f === undefined) return;
    this.#failure = undefined;
    throw f.error;
  }

  /**
   * Point lookup: the newest value (a copy), `undefined` when absent or deleted. Memtables first (skipped
   * when empty), then the tables newest first: key range and bloom filter before anything else, then the
   * resident index and the block cache. A lookup whose blocks are all cached runs synchronously up to the
   * returned promise; only a block read waits.
   */
  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.#mem.size > 0 || this.#frozen.length > 0) {
      const k = latin1(key);
      const m = this.#mem.find(k);
      if (m !== undefined) return Promise.resolve(this.#mem.valueCopy(m) ?? undefined);
      for (const f of this.#frozen) {
        const e = f.find(k);
        if (e !== undefined) return Promise.resolve(f.valueCopy(e) ?? undefined);
      }
    }
    const order = this.#shape.order;
    if (order.length === 0) return NOTHING;
    const h = hash32(key);
    const cache = this.storage.cache;
    for (let j = 0; j < order.length; j++) {
      const v = (order[j] as SSTable).get(key, h, cache);
      if (v === undefined) continue;
      if (v instanceof Promise) return this.#getRead(v, order, j, key, h);
      return v === null ? NOTHING : Promise.resolve(v);
    }
    return NOTHING;
  }

  /**
   * The rest of a lookup once table `order[j]` had to read a block: waits for it, then goes on through
   * the older tables. Counted as a reader, so no table it may still read is deleted meanwhile. The usual
   * case — the read block answers, or no older table is left — is one `then` on the read (no async
   * function and its extra promise per miss).
   */
  #getRead(
    pending: Promise<Uint8Array | null | undefined>,
    order: readonly SSTable[],
    j: number,
    key: Uint8Array,
    h: number,
  ): Promise<Uint8Array | undefined> {
    this.#readers++;
    return pending.then(
      (v) => {
        if (v !== undefined || j + 1 >= order.length) {
          this.#release();
          return v ?? undefined;
        }
        return this.#getOlder(order, j + 1, key, h);
      },
      (err: unknown) => {
        this.#release();
        throw err;
      },
    );
  }

  /** Goes on through `order[from…]` for a lookup {@link #getRead} counted as a reader; releases it. */
  async #getOlder(
    order: readonly SSTable[],
    from: number,
    key: Uint8Array,
    h: number,
  ): Promise<Uint8Array | undefined> {
    try {
      const cache = this.storage.cache;
      for (let t = from; t < order.length; t++) {
        const next = (order[t] as SSTable).get(key, h, cache);
        const v = next instanceof Promise ? await next : next;
        if (v !== undefined) return v ?? undefined;
      }
      return undefined;
    } finally {
      this.#release();
    }
  }

  /** Ascending live entries with `gte ≤ key < lt`, at most `limit` (a snapshot taken at the first read). */
  async *scan(range: {
    gte?: Uint8Array;
    lt?: Uint8Array;
    limit?: number;
  }): AsyncGenerator<{ key: Uint8Array; value: Uint8Array }> {
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return;
    const cursors: Cursor[] = [new MemCursor(this.#mem, range.gte)];
    for (const f of this.#frozen) cursors.push(new MemCursor(f, range.gte));
    const tables: TableCursor[] = [];
    this.#readers++;
    try {
      for (const t of this.#shape.order) {
        if (range.lt !== undefined && t.entries > 0 && compareBytes(t.minKey, range.lt) >= 0) continue;
        const c = new TableCursor(t, range.gte);
        tables.push(c);
        cursors.push(c);
      }
      await Promise.all(tables.map((c) => c.start()));
      const merge = new MergeCursor(cursors);
      const lt = range.lt;
      let count = 0;
      for (;;) {
        const p = merge.advance();
        if (p) await p;
        if (!merge.valid || (lt !== undefined && compareRange(merge.keyBuf, 0, merge.keyLen, lt) >= 0))
          return;
        if (merge.valLen < 0) continue;
        // Copies: the merge's buffers move on, and values are views into read buffers or memtable slabs.
        yield {
          key: copyOut(merge.keyBuf, 0, merge.keyLen),
          value: copyOut(merge.valBuf, merge.valOff, merge.valLen),
        };
        if (++count >= limit) return;
      }
    } finally {
      await Promise.all(tables.map((c) => c.close()));
      this.#release();
    }
  }

  #release(): void {
    if (--this.#readers === 0 && this.#shape.garbage.length > 0) void this.#collectGarbage();
  }

  /** Writes the memtable (and any frozen ones) to level-0 tables, then compacts levels that are full. */
  async flush(): Promise<void> {
    this.#throwFailure();
    this.#freeze();
    await this.#drainFlushes();
    await this.#drainCompactions();
  }

  /** Flushes, then merges every table into one file in the deepest level, dropping tombstones. */
  async compact(): Promise<void> {
    await this.flush();
    await this.#exclusiveCompaction(async () => {
      const picked = pickFullCompaction(this.#shape);
      if (picked) await this.#compactLocked(picked);
    });
  }

  /**
   * Waits for background work and garbage collection; flushes first when asked (then a background
   * failure is thrown). Without `flush`, unflushed writes are dropped as after a crash.
   */
  async close(flush: boolean): Promise<void> {
    if (flush) await this.flush();
    else {
      await this.#flushing?.catch(() => undefined);
      await this.#compacting?.catch(() => undefined);
      this.#failure = undefined;
    }
    await this.#gc;
    await Promise.all(this.#shape.order.map((t) => t.close()));
  }

  /** Moves a non-empty active memtable to the frozen list (still readable) and starts a new one. */
  #freeze(): void {
    if (this.#mem.size === 0) return;
    this.#frozen.unshift(this.#mem);
    this.#mem = new Memtable();
  }

  /** Starts the flush chain unless it runs; it drains {@link #frozen} oldest first. */
  #startFlushing(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#frozen.length === 0) return Promise.resolve();
    const run = this.#background(
      async () => {
        while (this.#frozen.length > 0) {
          await this.#flushOldest();
          this.#startCompacting();
        }
      },
      () => {
        this.#flushing = undefined;
      },
    );
    this.#flushing = run;
    return run;
  }

  /**
   * Runs one background chain (the flush or the compaction chain): a failure is kept for the next
   * foreground call to throw (see {@link #throwFailure}), and `done` runs when the chain ends either way.
   */
  async #background(chain: () => Promise<void>, done: () => void): Promise<void> {
    try {
      await chain();
    } catch (error) {
      this.#failure ??= { error };
    } finally {
      done();
    }
  }

  /** Flushes every frozen memtable; throws a background failure. */
  async #drainFlushes(): Promise<void> {
    while (this.#frozen.length > 0 || this.#flushing) {
      await this.#startFlushing();
      this.#throwFailure();
    }
  }

  /** Waits until no level is full and no compaction runs; throws a background failure. */
  async #drainCompactions(): Promise<void> {
    while (this.#compacting || this.#pick() !== undefined) {
      await this.#startCompacting();
      this.#throwFailure();
    }
  }

  #pick(): PickedCompaction<SSTable> | undefined {
    return pickCompaction(this.#shape, this.options);
  }

  /** Starts the compaction chain unless it runs; it compacts full levels, shallowest first. */
  #startCompacting(): Promise<void> {
    if (this.#compacting) return this.#compacting;
    if (this.#pick() === undefined) return Promise.resolve();
    const run = this.#background(
      async () => {
        let more = true;
        while (more) {
          more = await this.#exclusiveCompaction(async () => {
            const picked = this.#pick();
            if (picked) await this.#compactLocked(picked);
            return picked !== undefined;
          });
        }
      },
      () => {
        this.#compacting = undefined;
      },
    );
    this.#compacting = run;
    return run;
  }

  /**
   * Serialises this tree's renames and deletes. A flush and a compaction may run at once, and a local
   * disk prunes emptied folders after a move or delete: two unserialised moves out of `_staging/` (or a
   * delete emptying `level-0/` while a flush moves into it) could see the folder vanish mid-step.
   */
  #namespace<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#nsLock.then(fn);
    this.#nsLock = run.catch(() => undefined);
    return run;
  }

  #exclusiveCompaction<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#compactLock.then(fn);
    this.#compactLock = run.catch(() => undefined);
    return run;
  }

  /** Writes the oldest frozen memtable to a new level-0 table; on failure it stays frozen (readable). */
  async #flushOldest(): Promise<void> {
    const mem = this.#frozen[this.#frozen.length - 1] as Memtable;
    const number = this.#next++;
    const order = mem.sorted();
    const table = await this.#writeTable({ level: 0, number, replaces: [] }, async function* (w) {
      const { buf, keyOff, keyLen, valOff, valLen } = mem;
      for (let i = 0; i < order.length; i++) {
        const e = order[i] as number;
        const b = buf[e] as Uint8Array;
        const chunk = w.add(
          b,
          keyOff[e] as number,
          keyLen[e] as number,
          b,
          valOff[e] as number,
          valLen[e] as number,
        );
        if (chunk) yield chunk;
      }
    });
    // One synchronous step: readers see the data in the memtable or in the table, never neither.
    this.#shape = this.#shape.apply({ added: [table] });
    this.#frozen = this.#frozen.filter((f) => f !== mem);
  }

  /** Merges the picked inputs (precedence order) into one table; it replaces them in one commit. */
  async #compactLocked(picked: PickedCompaction<SSTable>): Promise<void> {
    const { inputs, outputLevel: level, dropTombstones } = picked;
    const number = this.#next++;
    const cursors = inputs.map((t) => new TableCursor(t));
    this.#readers++;
    let table: SSTable;
    try {
      await Promise.all(cursors.map((c) => c.start()));
      table = await this.#writeTable(
        { level, number, replaces: inputs.map((t) => ({ level: t.level, number: t.number })) },
        (w) => mergedChunks(cursors, w, dropTombstones),
      );
    } finally {
      await Promise.all(cursors.map((c) => c.close()));
      this.#readers--;
    }
    this.#shape = this.#shape.apply({ added: [table], removed: inputs });
    if (this.#readers === 0) await this.#collectGarbage();
  }

  async #writeTable(
    meta: { level: number; number: number; replaces: FileId[] },
    body: (w: SSTableWriter) => AsyncIterable<Uint8Array>,
  ): Promise<SSTable> {
    const name = sstName(meta, this.storage.epoch?.() ?? 0);
    const staged = await this.storage.stage(name.slice(name.indexOf("/") + 1));
    const writer = new SSTableWriter({
      blockBytes: this.options.blockBytes,
      bloomBitsPerKey: this.options.bloomBitsPerKey,
    });
    async function* all(): AsyncGenerator<Uint8Array> {
      yield* body(writer);
      yield writer.finish(meta);
    }
    let size: number;
    try {
      size = (await staged.fs.writeStream(staged.key, all(), { durable: true })).bytes;
    } catch (err) {
      await this.#namespace(() => staged.fs.delete(staged.key)).catch(() => undefined);
      throw err;
    }
    const key = await this.#namespace(async () => {
      await this.storage.checkFence?.();
      return this.storage.commit(staged, name);
    });
    return SSTable.open(this.storage.fs, key, size, meta);
  }

  /**
   * Deletes dead tables oldest first, one at a time, stopping at the first failure: a file is removed
   * only after every file it replaced is gone, so a crash or failed delete can never bring an older
   * file back to life (see the README's recovery protocol).
   */
  #collectGarbage(): Promise<void> {
    if (this.#gc) return this.#gc;
    if (this.#readers > 0 || (this.#shape.garbage.length === 0 && this.#stale.length === 0))
      return Promise.resolve();
    const run = (async () => {
      try {
        // Only the current owner deletes (a writer fenced out leaves every file where it is).
        await this.storage.checkFence?.();
        while (this.#stale.length > 0) {
          this.storage.assertWritable?.();
          const key = this.#stale[0] as string;
          await this.#namespace(() => this.storage.fs.delete(key, { durable: true }));
          this.#stale.shift();
        }
        while (this.#readers === 0 && this.#shape.garbage.length > 0) {
          const t = this.#shape.garbage[0] as SSTable; // oldest first
          await t.close();
          this.storage.assertWritable?.();
          // Durable before the next one: a power cut must never bring a deleted older table back.
          await this.#namespace(() => this.storage.fs.delete(t.key, { durable: true }));
          this.#shape = this.#shape.apply({ deleted: [t] });
        }
      } catch {
        // Still garbage in the shape: retried after the next compaction or read, and at the next open.
      } finally {
        this.#gc = undefined;
      }
    })();
    this.#gc = run;
    return run;
  }
}

async function* mergedChunks(
  cursors: Cursor[],
  w: SSTableWriter,
  dropTombstones: boolean,
): AsyncGenerator<Uint8Array> {
  const merge = new MergeCursor(cursors);
  for (;;) {
    const p = merge.advance();
    if (p) await p;
    if (!merge.valid) return;
    if (merge.valLen < 0 && dropTombstones) continue;
    const chunk = w.add(merge.keyBuf, 0, merge.keyLen, merge.valBuf, merge.valOff, merge.valLen);
    if (chunk) yield chunk;
  }
}
