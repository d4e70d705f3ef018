import { type FileSystem, listAll } from "@proximadb/core";
import type { StagedFile } from "@proximadb/engine";
import { hash32 } from "./bloom.js";
import { compareBytes } from "./bytes.js";
import { type Cursor, MemCursor, MergeCursor, TableCursor } from "./merge.js";
import { Memtable } from "./memtable.js";
import { type BlockCache, type FileId, parseSstName, SSTable, SSTableWriter, sstName } from "./sstable.js";

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
}

/** A snapshot of a tree's shape, for tests, metrics and operators. */
export interface LsmTreeStats {
  /** Live files per level: `levels[n]` lists the numbers of `level-n/` files, newest first. */
  readonly levels: readonly (readonly number[])[];
  /** Bytes held by the active memtable. */
  readonly memtableBytes: number;
  /** Next file number. */
  readonly nextNumber: number;
  /** Dead files waiting to be deleted (in-flight reads, or a failed delete retried later). */
  readonly garbage: number;
}

/** One put (`value` given) or delete (`value` `null`). */
export interface TreeOp {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/**
 * One collection's LSM tree. Newest data wins in this order: the active memtable, memtables being
 * flushed, then level 0, 1, … and inside a level the higher file number. Tiered compaction keeps that
 * order true: a level with `levelFanout` files is merged whole into one file of the next level.
 */
export class LsmTree {
  #mem = new Memtable();
  /** Frozen memtables being flushed, newest first. */
  #frozen: Memtable[] = [];
  #levels: SSTable[][] = [];
  /** Every live table in precedence order (newest first). */
  #order: SSTable[] = [];
  #next: number;
  #garbage: SSTable[] = [];
  #readers = 0;
  #gc: Promise<void> | undefined;
  #lock: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly storage: TreeStorage,
    readonly options: LsmTreeOptions,
    tables: SSTable[],
    next: number,
  ) {
    this.#next = next;
    for (const t of tables) this.#levelOf(t.level).push(t);
    this.#reorder();
  }

  /**
   * Loads a tree from the listing of `<id>/level-*​/`: opens (and verifies) every table, treats files
   * named in a present file's `replaces` as dead and deletes them, oldest first.
   * @throws LsmCorruptionError when a table fails verification (nothing is deleted then)
   */
  static async load(storage: TreeStorage, options: LsmTreeOptions): Promise<LsmTree> {
    const { files } = await listAll(storage.fs, `${storage.dir}level-`);
    const found: { id: FileId; key: string; size: number }[] = [];
    for (const f of files) {
      const id = parseSstName(f.key.slice(storage.dir.length));
      if (id) found.push({ id, key: f.key, size: f.size });
    }
    const tables: SSTable[] = [];
    for (let i = 0; i < found.length; i += 16) {
      const slice = found.slice(i, i + 16);
      tables.push(...(await Promise.all(slice.map((f) => SSTable.open(storage.fs, f.key, f.size, f.id)))));
    }
    const dead = new Set<number>();
    let max = 0;
    for (const t of tables) {
      max = Math.max(max, t.number);
      for (const r of t.replaces) {
        dead.add(r.number);
        max = Math.max(max, r.number);
      }
    }
    const live = tables.filter((t) => !dead.has(t.number));
    const tree = new LsmTree(storage, options, live, max + 1);
    tree.#garbage = tables.filter((t) => dead.has(t.number));
    await tree.#collectGarbage();
    return tree;
  }

  #levelOf(level: number): SSTable[] {
    while (this.#levels.length <= level) this.#levels.push([]);
    return this.#levels[level] as SSTable[];
  }

  #reorder(): void {
    for (const l of this.#levels) l.sort((a, b) => b.number - a.number);
    this.#order = this.#levels.flat();
  }

  /** The tree's shape. */
  stats(): LsmTreeStats {
    return {
      levels: this.#levels.map((l) => l.map((t) => t.number)),
      memtableBytes: this.#mem.bytes,
      nextNumber: this.#next,
      garbage: this.#garbage.length,
    };
  }

  /** Applies writes to the memtable; flushes (and compacts) first when it is full. */
  async write(ops: readonly TreeOp[]): Promise<void> {
    for (const op of ops) this.#mem.set(op.key, op.value);
    if (this.#mem.bytes >= this.options.memtableBytes) {
      await this.#exclusive(async () => {
        if (this.#mem.bytes < this.options.memtableBytes) return; // another writer flushed it
        await this.#flushLocked();
        await this.#autoCompactLocked();
      });
    }
  }

  /** Point lookup: the newest value, `undefined` when absent or deleted. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const m = this.#mem.get(key);
    if (m) return m.value === null ? undefined : m.value.slice();
    for (const f of this.#frozen) {
      const e = f.get(key);
      if (e) return e.value === null ? undefined : e.value.slice();
    }
    const order = this.#order;
    if (order.length === 0) return undefined;
    const h = hash32(key);
    this.#readers++;
    try {
      for (const t of order) {
        if (!t.mayContain(h)) continue;
        const v = await t.get(key, h, this.storage.cache);
        if (v !== undefined) return v === null ? undefined : v.slice();
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
  }): AsyncGenerator<[Uint8Array, Uint8Array]> {
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    if (limit <= 0) return;
    const cursors: Cursor[] = [new MemCursor(this.#mem.sortedEntries(), range.gte)];
    for (const f of this.#frozen) cursors.push(new MemCursor(f.sortedEntries(), range.gte));
    const tables: TableCursor[] = [];
    this.#readers++;
    try {
      for (const t of this.#order) {
        if (range.lt !== undefined && t.entries > 0 && compareBytes(t.minKey, range.lt) >= 0) continue;
        const c = new TableCursor(t, range.gte);
        tables.push(c);
        cursors.push(c);
      }
      await Promise.all(tables.map((c) => c.start()));
      const merge = new MergeCursor(cursors);
      let count = 0;
      for (;;) {
        const p = merge.advance();
        if (p) await p;
        const key = merge.key;
        if (key === undefined || (range.lt !== undefined && compareBytes(key, range.lt) >= 0)) return;
        if (merge.value === null) continue;
        yield [key.slice(), merge.value.slice()];
        if (++count >= limit) return;
      }
    } finally {
      await Promise.all(tables.map((c) => c.close()));
      this.#release();
    }
  }

  #release(): void {
    if (--this.#readers === 0 && this.#garbage.length > 0) void this.#collectGarbage();
  }

  /** Writes the memtable to a level-0 table (no-op when empty). */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#flushLocked();
      await this.#autoCompactLocked();
    });
  }

  /** Flushes, then merges every table into one file in the deepest level, dropping tombstones. */
  compact(): Promise<void> {
    return this.#exclusive(async () => {
      await this.#flushLocked();
      const inputs = this.#order.slice();
      if (inputs.length <= 1) return;
      const level = Math.max(1, this.#levels.length - 1);
      await this.#compactLocked(inputs, level, true);
    });
  }

  /** Waits for in-flight maintenance and garbage collection; flushes first when asked. */
  async close(flush: boolean): Promise<void> {
    if (flush) await this.flush();
    else await this.#exclusive(async () => {});
    await this.#gc;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #flushLocked(): Promise<void> {
    const mem = this.#mem;
    if (mem.size === 0) return;
    this.#mem = new Memtable();
    this.#frozen.unshift(mem);
    const number = this.#next++;
    try {
      const entries = mem.sortedEntries();
      const table = await this.#writeTable({ level: 0, number, replaces: [] }, async function* (w) {
        for (const e of entries) {
          const chunk = w.add(e.key, e.value);
          if (chunk) yield chunk;
        }
      });
      this.#levelOf(0).push(table);
      this.#reorder();
    } catch (err) {
      // Keep the data: fold the newer writes over the frozen memtable and make it active again.
      for (const e of this.#mem.sortedEntries()) mem.set(e.key, e.value);
      this.#mem = mem;
      throw err;
    } finally {
      this.#frozen = this.#frozen.filter((f) => f !== mem);
    }
  }

  async #autoCompactLocked(): Promise<void> {
    for (let level = 0; level < this.#levels.length; level++) {
      const files = this.#levels[level] as SSTable[];
      if (files.length < this.options.levelFanout) continue;
      const deeperEmpty = this.#levels.slice(level + 1).every((l) => l.length === 0);
      await this.#compactLocked(files.slice(), level + 1, deeperEmpty);
    }
  }

  /** Merges `inputs` (precedence order) into one table at `level`; it replaces them in one commit. */
  async #compactLocked(inputs: SSTable[], level: number, dropTombstones: boolean): Promise<void> {
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
    const gone = new Set(inputs);
    this.#levels = this.#levels.map((l) => l.filter((t) => !gone.has(t)));
    this.#levelOf(level).push(table);
    this.#reorder();
    this.#garbage.push(...inputs);
    if (this.#readers === 0) await this.#collectGarbage();
  }

  async #writeTable(
    meta: { level: number; number: number; replaces: FileId[] },
    body: (w: SSTableWriter) => AsyncIterable<Uint8Array>,
  ): Promise<SSTable> {
    const name = sstName(meta);
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
      await staged.fs.delete(staged.key).catch(() => undefined);
      throw err;
    }
    const key = await this.storage.commit(staged, name);
    return SSTable.open(this.storage.fs, key, size, meta);
  }

  /**
   * Deletes dead tables oldest first, one at a time, stopping at the first failure: a file is removed
   * only after every file it replaced is gone, so a crash or failed delete can never bring an older
   * file back to life (see the README's recovery protocol).
   */
  #collectGarbage(): Promise<void> {
    if (this.#gc) return this.#gc;
    if (this.#readers > 0 || this.#garbage.length === 0) return Promise.resolve();
    const run = (async () => {
      try {
        while (this.#readers === 0 && this.#garbage.length > 0) {
          this.#garbage.sort((a, b) => a.number - b.number);
          const t = this.#garbage[0] as SSTable;
          await this.storage.fs.delete(t.key);
          this.#garbage.shift();
        }
      } catch {
        // Kept in #garbage: retried after the next compaction or read, and at the next open.
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
    const key = merge.key;
    if (key === undefined) return;
    if (merge.value === null && dropTombstones) continue;
    const chunk = w.add(key, merge.value);
    if (chunk) yield chunk;
  }
}
