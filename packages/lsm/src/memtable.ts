import { type Bytes, copyOut } from "./bytes.js";

const encoder = new TextEncoder();

/** One write of {@link Memtable.apply}: a put (`value` given) or a delete. */
export interface MemWrite {
  readonly key: Bytes;
  readonly value?: Bytes | undefined;
  readonly type: "put" | "delete";
}

/**
 * The memtable: a hash map for O(1) writes and point reads, plus a sorted key list rebuilt lazily —
 * keys added since the last ordered read are sorted on their own and merged in (k log k + n), so a
 * write costs a map insert instead of a skip-list descent. Keys are Latin-1 strings (one code unit per
 * byte), whose native order is byte order.
 *
 * Entries hold no objects of their own: a batch is copied into one slab, and entry `i` is
 * `(buf[i], keyOff[i], keyLen[i], valOff[i], valLen[i])` in parallel arrays (`valLen` −1 = tombstone).
 * A put then allocates only its map key, which keeps the garbage collector out of the write path. An
 * overwrite takes a new slot (the old one stays, counted in {@link bytes}), so a scan's snapshot of
 * slots never changes under it.
 */
export class Memtable {
  readonly #index = new Map<string, number>();
  /** Entry columns (see the class notes). */
  readonly buf: Uint8Array[] = [];
  readonly keyOff: number[] = [];
  readonly keyLen: number[] = [];
  readonly valOff: number[] = [];
  readonly valLen: number[] = [];
  #sorted: string[] = [];
  #pending: string[] = [];
  /** The last {@link sorted} result, until the next write (frozen memtables build it once). */
  #snapshot: Int32Array | undefined;
  #bytes = 0;

  /** Approximate memory held (keys, values and per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Distinct keys (tombstones included). */
  get size(): number {
    return this.#index.size;
  }

  /**
   * Applies writes in order (later ones on a key win). Keys and values are copied into one slab, so
   * the caller may reuse its buffers; strings are stored as UTF-8.
   */
  apply(ops: readonly MemWrite[]): void {
    const n = ops.length;
    const parts: Uint8Array[] = new Array(2 * n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const op = ops[i] as MemWrite;
      const k = typeof op.key === "string" ? encoder.encode(op.key) : op.key;
      parts[2 * i] = k;
      total += k.length;
      if (op.type === "put") {
        const v = op.value ?? new Uint8Array(0);
        const vb = typeof v === "string" ? encoder.encode(v) : v;
        parts[2 * i + 1] = vb;
        total += vb.length;
      }
    }
    const slab = Buffer.allocUnsafeSlow(total);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const k = parts[2 * i] as Uint8Array;
      slab.set(k, at);
      const keyOff = at;
      at += k.length;
      const v = parts[2 * i + 1];
      if (v === undefined) this.#set(slab, keyOff, k.length, 0, -1);
      else {
        slab.set(v, at);
        this.#set(slab, keyOff, k.length, at, v.length);
        at += v.length;
      }
    }
  }

  #set(slab: Buffer, keyOff: number, keyLen: number, valOff: number, valLen: number): void {
    const k = slab.toString("latin1", keyOff, keyOff + keyLen);
    // Always a new slot, never an update in place: a scan's snapshot keeps seeing the slots it took.
    const slot = this.buf.length;
    if (this.#index.get(k) === undefined) this.#pending.push(k);
    this.#index.set(k, slot);
    this.buf.push(slab);
    this.keyOff.push(keyOff);
    this.keyLen.push(keyLen);
    this.valOff.push(valOff);
    this.valLen.push(valLen);
    this.#bytes += keyLen + Math.max(valLen, 0) + 48;
    this.#snapshot = undefined;
  }

  /**
   * The entry index for a key (`undefined` when the memtable has none). `latin1Key` is the key as a
   * Latin-1 string (see {@link latin1}), computed once per lookup across memtables.
   */
  find(latin1Key: string): number | undefined {
    return this.#index.get(latin1Key);
  }

  /** A copy of entry `i`'s value, `null` for a tombstone. */
  valueCopy(i: number): Uint8Array | null {
    const len = this.valLen[i] as number;
    if (len < 0) return null;
    return copyOut(this.buf[i] as Uint8Array, this.valOff[i] as number, len);
  }

  /** Entry indexes in ascending key order (a snapshot: later writes do not change it). */
  sorted(): Int32Array {
    if (this.#snapshot !== undefined) return this.#snapshot;
    this.#merge();
    const out = new Int32Array(this.#sorted.length);
    for (let i = 0; i < this.#sorted.length; i++)
      out[i] = this.#index.get(this.#sorted[i] as string) as number;
    this.#snapshot = out;
    return out;
  }

  #merge(): void {
    if (this.#pending.length === 0) return;
    const p = this.#pending.sort();
    this.#pending = [];
    const s = this.#sorted;
    if (s.length === 0) {
      this.#sorted = p;
      return;
    }
    const out = new Array<string>(s.length + p.length);
    let i = 0;
    let j = 0;
    let o = 0;
    while (i < s.length && j < p.length)
      out[o++] = (s[i] as string) < (p[j] as string) ? (s[i++] as string) : (p[j++] as string);
    while (i < s.length) out[o++] = s[i++] as string;
    while (j < p.length) out[o++] = p[j++] as string;
    this.#sorted = out;
  }
}
