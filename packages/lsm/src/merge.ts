import { LsmCorruptionError } from "./errors.js";
import { compareRange } from "./bytes.js";
import type { Memtable } from "./memtable.js";
import type { SSTable } from "./sstable.js";

/**
 * A forward cursor over one sorted source, allocation-free per entry: the current key is
 * `keyBuf[keyOff, keyOff + keyLen)` and the value `valBuf[valOff, valOff + valLen)` (`valLen` −1 = tombstone). Both are
 * only valid until the next `advance`. `advance` is synchronous inside a block and returns a promise only
 * when it has to read the next blocks, so merging costs no promise (and no object) per entry.
 */
export interface Cursor {
  /** False once exhausted. */
  valid: boolean;
  keyBuf: Uint8Array;
  keyOff: number;
  keyLen: number;
  valBuf: Uint8Array;
  valOff: number;
  /** Value length, −1 for a tombstone. */
  valLen: number;
  advance(): Promise<void> | undefined;
}

const EMPTY = new Uint8Array(0);

/** Compares two cursors' current keys (unsigned bytes). */
export function compareCursors(a: Cursor, b: Cursor): number {
  const ak = a.keyBuf;
  const bk = b.keyBuf;
  const ao = a.keyOff;
  const bo = b.keyOff;
  const n = Math.min(a.keyLen, b.keyLen);
  for (let i = 0; i < n; i++) {
    const d = (ak[ao + i] as number) - (bk[bo + i] as number);
    if (d !== 0) return d;
  }
  return a.keyLen - b.keyLen;
}

/** Cursor over a sorted snapshot of a memtable's entries, starting at the first key ≥ `gte`. */
export class MemCursor implements Cursor {
  valid = false;
  keyBuf: Uint8Array = EMPTY;
  keyOff = 0;
  keyLen = 0;
  valBuf: Uint8Array = EMPTY;
  valOff = 0;
  valLen = -1;
  readonly #mem: Memtable;
  readonly #order: Int32Array;
  #i: number;
  constructor(mem: Memtable, gte?: Uint8Array) {
    this.#mem = mem;
    const order = mem.sorted();
    this.#order = order;
    let lo = 0;
    if (gte !== undefined) {
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const e = order[mid] as number;
        const c = compareRange(
          mem.buf[e] as Uint8Array,
          mem.keyOff[e] as number,
          mem.keyLen[e] as number,
          gte,
        );
        if (c < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    this.#i = lo - 1;
    this.advance();
  }
  advance(): undefined {
    const i = ++this.#i;
    if (i >= this.#order.length) {
      this.valid = false;
      return undefined;
    }
    const e = this.#order[i] as number;
    const m = this.#mem;
    this.valid = true;
    const buf = m.buf[e] as Uint8Array;
    this.keyBuf = buf;
    this.keyOff = m.keyOff[e] as number;
    this.keyLen = m.keyLen[e] as number;
    this.valBuf = buf;
    this.valOff = m.valOff[e] as number;
    this.valLen = m.valLen[e] as number;
    return undefined;
  }
}

/**
 * A cursor that rebuilds each key into a buffer of its own (`keyOff` 0, grown as keys need), starting
 * before its first entry (`valid` false) with an empty value.
 */
abstract class OwnKeyCursor implements Cursor {
  valid = false;
  keyBuf: Uint8Array = new Uint8Array(64);
  readonly keyOff = 0;
  keyLen = 0;
  valBuf: Uint8Array = EMPTY;
  valOff = 0;
  valLen = -1;
  abstract advance(): Promise<void> | undefined;
}

/**
 * Cursor over an SSTable from the first key ≥ `gte`, parsing verified raw blocks in place (the key is
 * rebuilt into a buffer of the cursor's own). Call {@link TableCursor.start} first.
 */
export class TableCursor extends OwnKeyCursor {
  readonly #table: SSTable;
  readonly #blocks: AsyncGenerator<Buffer>;
  #block: Buffer = Buffer.alloc(0);
  #pos = 0;
  #end = 0;
  constructor(
    table: SSTable,
    readonly gte?: Uint8Array,
  ) {
    super();
    this.#table = table;
    this.#blocks = table.rawBlocksFrom(gte);
  }

  async start(): Promise<void> {
    await this.#nextBlock();
    const gte = this.gte;
    if (gte === undefined) return;
    while (this.valid && compareRange(this.keyBuf, 0, this.keyLen, gte) < 0) {
      const p = this.advance();
      if (p) await p;
    }
  }

  async #nextBlock(): Promise<void> {
    for (;;) {
      const r = await this.#blocks.next();
      if (r.done) {
        this.valid = false;
        return;
      }
      const b = r.value;
      const len = b.length;
      if (len < 4) throw this.#corrupt("block shorter than its restart count");
      const dataEnd = len - 4 - b.readUInt32LE(len - 4) * 4;
      if (dataEnd < 0) throw this.#corrupt("restart array larger than the block");
      if (dataEnd === 0) continue;
      this.#block = b;
      this.#pos = 0;
      this.#end = dataEnd;
      this.keyLen = 0;
      this.#parse();
      return;
    }
  }

  #corrupt(detail: string): LsmCorruptionError {
    const t = this.#table;
    return new LsmCorruptionError("Format", t.key, `data block does not decode (${detail})`, {
      root: t.fs.root.url,
    });
  }

  /** Parses the entry at #pos (there is one) into the cursor's fields. */
  #parse(): void {
    const b = this.#block;
    const end = this.#end;
    let p = this.#pos;
    // Three LEB128 varints, inline: this runs once per entry of every scan and compaction.
    let shared = 0;
    let unshared = 0;
    let vtag = 0;
    for (let field = 0; field < 3; field++) {
      let v = 0;
      let mul = 1;
      for (let i = 0; ; i++) {
        if (p >= end || i >= 8) throw this.#corrupt("varint past end");
        const x = b[p++] as number;
        v += (x & 0x7f) * mul;
        if (x < 0x80) break;
        mul *= 128;
      }
      if (field === 0) shared = v;
      else if (field === 1) unshared = v;
      else vtag = v;
    }
    if (shared > this.keyLen) throw this.#corrupt("shared prefix longer than the previous key");
    const keyLen = shared + unshared;
    const vlen = vtag === 0 ? 0 : vtag - 1;
    if (p + unshared + vlen > end) throw this.#corrupt("entry past the block end");
    if (keyLen > this.keyBuf.length) {
      const grown = new Uint8Array(Math.max(keyLen, this.keyBuf.length * 2));
      grown.set(this.keyBuf.subarray(0, shared));
      this.keyBuf = grown;
    }
    const k = this.keyBuf;
    for (let j = 0; j < unshared; j++) k[shared + j] = b[p + j] as number;
    p += unshared;
    this.keyLen = keyLen;
    this.valBuf = b;
    this.valOff = p;
    this.valLen = vtag === 0 ? -1 : vlen;
    this.#pos = p + vlen;
    this.valid = true;
  }

  advance(): Promise<void> | undefined {
    if (!this.valid) return undefined;
    if (this.#pos < this.#end) {
      this.#parse();
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
 * source's value (tombstones included, `valLen` −1). The key is copied into the merge cursor's own buffer
 * (the sources move on); the value stays a view into the source's block or memtable entry, which is
 * never overwritten. Call {@link MergeCursor.advance} once to position it on the first entry.
 */
export class MergeCursor extends OwnKeyCursor {
  readonly #live: Cursor[];

  constructor(cursors: readonly Cursor[]) {
    super();
    this.#live = cursors.filter((c) => c.valid);
  }

  advance(): Promise<void> | undefined {
    const live = this.#live;
    if (live.length === 0) {
      this.valid = false;
      return undefined;
    }
    let min = live[0] as Cursor;
    for (let i = 1; i < live.length; i++) {
      const c = live[i] as Cursor;
      if (compareCursors(c, min) < 0) min = c;
    }
    const n = min.keyLen;
    if (n > this.keyBuf.length) this.keyBuf = new Uint8Array(Math.max(n, this.keyBuf.length * 2));
    const k = this.keyBuf;
    const src = min.keyBuf;
    const so = min.keyOff;
    for (let i = 0; i < n; i++) k[i] = src[so + i] as number;
    this.keyLen = n;
    this.valBuf = min.valBuf;
    this.valOff = min.valOff;
    this.valLen = min.valLen;
    this.valid = true;
    // Advance every source holding this key (older versions are shadowed).
    let waits: Promise<void>[] | undefined;
    for (let i = 0; i < live.length; i++) {
      const c = live[i] as Cursor;
      if (c === min || compareCursors(c, this) === 0) {
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
    for (let i = live.length - 1; i >= 0; i--) if (!(live[i] as Cursor).valid) live.splice(i, 1);
  }
}
