import { latin1 } from "./bytes.js";

/** One memtable entry: `value` `null` is a tombstone. */
export interface MemEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/**
 * The memtable: a hash map for O(1) writes and point reads, plus a sorted key list rebuilt lazily —
 * keys added since the last ordered read are sorted on their own and merged in (k log k + n), so a
 * write costs a map insert instead of a skip-list descent. Keys are Latin-1 strings (one code unit per
 * byte), whose native order is byte order. (Not yet measured against a skip list: see the README.)
 */
export class Memtable {
  readonly #map = new Map<string, MemEntry>();
  #sorted: string[] = [];
  #pending: string[] = [];
  #bytes = 0;

  /** Approximate memory held (keys, values and per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Distinct keys (tombstones included). */
  get size(): number {
    return this.#map.size;
  }

  /** Inserts or replaces an entry; `value` `null` records a tombstone. */
  set(key: Uint8Array, value: Uint8Array | null): void {
    const k = latin1(key);
    const prev = this.#map.get(k);
    if (prev === undefined) {
      this.#pending.push(k);
      this.#bytes += key.length + 48;
    } else this.#bytes -= prev.value?.length ?? 0;
    this.#map.set(k, { key, value });
    this.#bytes += value?.length ?? 0;
  }

  /** The entry for a key: `undefined` when the memtable has none. */
  get(key: Uint8Array): MemEntry | undefined {
    return this.#map.get(latin1(key));
  }

  /** Entries in ascending key order (a snapshot: later writes do not change it). */
  sortedEntries(): MemEntry[] {
    this.#merge();
    const out = new Array<MemEntry>(this.#sorted.length);
    for (let i = 0; i < this.#sorted.length; i++)
      out[i] = this.#map.get(this.#sorted[i] as string) as MemEntry;
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
