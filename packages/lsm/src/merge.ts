import { compareBytes } from "./bytes.js";
import type { MemEntry } from "./memtable.js";
import type { DecodedBlock, SSTable } from "./sstable.js";

/**
 * A forward cursor over one sorted source. `advance` is synchronous inside a block and returns a
 * promise only when it has to read the next blocks, so merging costs no promise per entry.
 */
export interface Cursor {
  /** Current key, `undefined` once exhausted. */
  key: Uint8Array | undefined;
  /** Current value (`null` = tombstone). */
  value: Uint8Array | null;
  advance(): Promise<void> | undefined;
}

/** Cursor over a sorted memtable snapshot, starting at the first key ≥ `gte`. */
export class MemCursor implements Cursor {
  key: Uint8Array | undefined;
  value: Uint8Array | null = null;
  #i: number;
  constructor(
    readonly entries: readonly MemEntry[],
    gte?: Uint8Array,
  ) {
    let lo = 0;
    if (gte !== undefined) {
      let hi = entries.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes((entries[mid] as MemEntry).key, gte) < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    this.#i = lo - 1;
    this.advance();
  }
  advance(): undefined {
    const e = this.entries[++this.#i];
    this.key = e?.key;
    this.value = e?.value ?? null;
    return undefined;
  }
}

/** Cursor over an SSTable from the first key ≥ `gte`. Call {@link TableCursor.start} first. */
export class TableCursor implements Cursor {
  key: Uint8Array | undefined;
  value: Uint8Array | null = null;
  #blocks: AsyncGenerator<DecodedBlock>;
  #block: DecodedBlock | undefined;
  #i = -1;
  constructor(
    table: SSTable,
    readonly gte?: Uint8Array,
  ) {
    this.#blocks = table.blocksFrom(gte);
  }

  async start(): Promise<void> {
    await this.#nextBlock();
    if (this.gte !== undefined) {
      while (this.key !== undefined && compareBytes(this.key, this.gte) < 0) {
        const p = this.advance();
        if (p) await p;
      }
    }
  }

  async #nextBlock(): Promise<void> {
    for (;;) {
      const r = await this.#blocks.next();
      if (r.done) {
        this.#block = undefined;
        this.key = undefined;
        return;
      }
      if (r.value.keys.length > 0) {
        this.#block = r.value;
        this.#i = 0;
        this.key = r.value.keys[0];
        this.value = r.value.values[0] as Uint8Array | null;
        return;
      }
    }
  }

  advance(): Promise<void> | undefined {
    const b = this.#block;
    if (!b) return undefined;
    const i = ++this.#i;
    if (i < b.keys.length) {
      this.key = b.keys[i];
      this.value = b.values[i] as Uint8Array | null;
      return undefined;
    }
    return this.#nextBlock();
  }

  /** Stops reading (releases the generator). */
  async close(): Promise<void> {
    await this.#blocks.return(undefined);
  }
}

/**
 * Merges cursors given newest first into one cursor: for each key, in ascending order, the newest
 * source's value (tombstones included, as `null`). Call {@link MergeCursor.advance} once to position
 * it on the first entry.
 */
export class MergeCursor implements Cursor {
  key: Uint8Array | undefined;
  value: Uint8Array | null = null;
  readonly #live: Cursor[];

  constructor(cursors: readonly Cursor[]) {
    this.#live = cursors.filter((c) => c.key !== undefined);
  }

  advance(): Promise<void> | undefined {
    const live = this.#live;
    if (live.length === 0) {
      this.key = undefined;
      return undefined;
    }
    let min = live[0] as Cursor;
    for (let i = 1; i < live.length; i++) {
      const c = live[i] as Cursor;
      if (compareBytes(c.key as Uint8Array, min.key as Uint8Array) < 0) min = c;
    }
    const key = min.key as Uint8Array;
    this.key = key;
    this.value = min.value;
    // Advance every source holding this key (older versions are shadowed).
    let waits: Promise<void>[] | undefined;
    for (let i = 0; i < live.length; i++) {
      const c = live[i] as Cursor;
      if (c === min || compareBytes(c.key as Uint8Array, key) === 0) {
        const p = c.advance();
        if (p) {
          waits ??= [];
          waits.push(p);
        }
      }
    }
    if (waits) return Promise.all(waits).then(() => this.#prune());
    this.#prune();
    return undefined;
  }

  #prune(): void {
    const live = this.#live;
    for (let i = live.length - 1; i >= 0; i--) if ((live[i] as Cursor).key === undefined) live.splice(i, 1);
  }
}
