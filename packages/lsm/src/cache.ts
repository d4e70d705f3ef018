/**
 * The block cache: verified raw data blocks (block bytes without their CRC) of every table of an engine,
 * copied into one byte ring bounded by the cache's capacity, with CLOCK (second-chance) eviction.
 *
 * Why a ring and not one `Buffer` per block: a point read that misses the cache reads a ~4 KiB block,
 * and a `Buffer` kept per block is an ArrayBuffer that lives for a while, is promoted to the old
 * generation and dies there when it is evicted. At 64 MiB that churn made the garbage collector the largest
 * single cost of random gets (full collections, which also have to walk the caller's heap). In the ring a
 * block costs its bytes and a few numbers in typed arrays, the buffer the read returned dies young, and a
 * lookup is an array index into the table's slot array instead of a `Map` update.
 *
 * Entries are kept in insertion order (a FIFO over the ring). A lookup sets the entry's reference bit;
 * when room is needed the oldest entry is evicted, or, if it was referenced since it last came to the
 * front, moved to the back (one `copyWithin`, bounded per insert) with its bit cleared — the CLOCK
 * approximation of least recently used. Blocks held never exceed the capacity in bytes; the ring itself
 * is larger by a slack of about the largest block, so a block always finds contiguous room once that
 * budget allows it.
 */

/**
 * A table's map from its block index to a cache entry (−1: not cached), made by {@link BlockCache.slots}
 * and owned by the table.
 */
export type CacheSlots = Int32Array;

/** First budget of a ring: small engines (tests, tiny collections) never allocate the whole capacity. */
const MIN_RING = 64 * 1024;
/** A single insert may move (second chance) at most this many times its own size. */
const MOVE_FACTOR = 8;

export class BlockCache {
  /** Bytes the cache may hold (0 disables it). */
  readonly capacity: number;
  #ring: Buffer = Buffer.alloc(0);
  /** Bytes of blocks the ring holds at most now (grows to {@link capacity}). */
  #budget = 0;
  /** Extra room in the ring beyond the budget (≥ the largest block). */
  #slack = 0;
  /** Next write position in the ring. */
  #tail = 0;
  #bytes = 0;
  // Entry columns; an entry id indexes them.
  #start = new Float64Array(64);
  #len = new Uint32Array(64);
  #block = new Int32Array(64);
  #ref = new Uint8Array(64);
  #owner: (CacheSlots | undefined)[] = [];
  #free: number[] = [];
  #entries = 0;
  // FIFO of entry ids, oldest at #qHead (circular).
  #queue = new Int32Array(64);
  #qHead = 0;
  #qCount = 0;

  /** @param capacity bytes the cache may hold (0 disables it) */
  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
  }

  /** Bytes of blocks currently held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Blocks currently held. */
  get size(): number {
    return this.#qCount;
  }

  /** A fresh slot array for a table of `blocks` data blocks (nothing cached). */
  slots(blocks: number): CacheSlots {
    return new Int32Array(blocks).fill(-1);
  }

  /**
   * The entry holding block `i` of the table whose slots these are, marked as used; −1 when it is not
   * cached. Its bytes are `ring[start(e), start(e) + length(e))` — valid only until the next
   * {@link insert}, which may move or overwrite them: read them synchronously.
   */
  lookup(slots: CacheSlots, i: number): number {
    const e = slots[i] as number;
    if (e >= 0) this.#ref[e] = 1;
    return e;
  }

  /** The ring the entries live in (see {@link lookup}). */
  get ring(): Buffer {
    return this.#ring;
  }

  /** Where entry `e`'s bytes start in the {@link ring}. */
  start(e: number): number {
    return this.#start[e] as number;
  }

  /** Length of entry `e`'s bytes. */
  length(e: number): number {
    return this.#len[e] as number;
  }

  /**
   * Copies `src[from, from + len)` in as block `i` of the table whose slots these are, evicting what has
   * to go. Returns the entry, or −1 when the block is not cached (capacity 0, an empty block, or one
   * larger than the whole cache). A block already cached (two reads of it raced) keeps its entry: tables
   * are immutable, so both copies are the same bytes.
   */
  insert(slots: CacheSlots, i: number, src: Uint8Array, from: number, len: number): number {
    if (len <= 0 || len > this.capacity) return -1;
    const old = slots[i] as number;
    if (old >= 0) return old;
    if (len > this.#slack || (this.#bytes + len > this.#budget && this.#budget < this.capacity))
      this.#resize(len);
    let moved = 0;
    for (;;) {
      if (this.#qCount === 0) {
        this.#tail = 0;
        break;
      }
      const f = this.#queue[this.#qHead] as number;
      const h = this.#start[f] as number;
      if (this.#bytes + len <= this.#budget) {
        if (this.#tail > h) {
          // Live bytes are [h, tail): room after the tail, else wrap and look before the head.
          if (this.#ring.length - this.#tail >= len) break;
          this.#tail = 0;
          continue;
        }
        // Live bytes wrap around the end: the only room is [tail, h).
        if (h - this.#tail >= len) break;
      }
      this.#popFront();
      const flen = this.#len[f] as number;
      if (this.#ref[f] === 1 && moved + flen <= MOVE_FACTOR * len) {
        this.#ref[f] = 0;
        moved += flen;
        this.#moveToBack(f, h, flen);
      } else this.#evict(f);
    }
    const e = this.#newEntry();
    const at = this.#tail;
    this.#ring.set(from === 0 && len === src.length ? src : src.subarray(from, from + len), at);
    this.#start[e] = at;
    this.#len[e] = len;
    this.#block[e] = i;
    this.#ref[e] = 0;
    this.#owner[e] = slots;
    slots[i] = e;
    this.#tail = at + len;
    this.#bytes += len;
    this.#pushBack(e);
    return e;
  }

  /**
   * Second chance for the entry just taken off the front (at `h`): its bytes go to the tail. There is
   * always room, counting its own old place: after the tail when it fits there, else from 0 — up to its
   * old end, when the live bytes do not wrap (nothing lives before `h`), or in `[tail, h + flen)` when they
   * do. `copyWithin` moves like `memmove`, so the overlap of the last two cases is safe.
   */
  #moveToBack(f: number, h: number, flen: number): void {
    if (this.#tail > h && this.#ring.length - this.#tail < flen) this.#tail = 0;
    this.#ring.copyWithin(this.#tail, h, h + flen);
    this.#start[f] = this.#tail;
    this.#tail += flen;
    this.#pushBack(f);
  }

  /**
   * Forgets a table's blocks (the table is closed): its entries lose their mapping and go first when room
   * is needed. The slots stay valid (all −1).
   */
  forget(slots: CacheSlots): void {
    for (let i = 0; i < slots.length; i++) {
      const e = slots[i] as number;
      if (e < 0) continue;
      this.#ref[e] = 0;
      this.#owner[e] = undefined;
      slots[i] = -1;
    }
  }

  #evict(e: number): void {
    const owner = this.#owner[e];
    const b = this.#block[e] as number;
    if (owner !== undefined && owner[b] === e) owner[b] = -1;
    this.#owner[e] = undefined;
    this.#bytes -= this.#len[e] as number;
    this.#free.push(e);
  }

  /**
   * A larger ring, entries laid out again from 0 in queue order: the budget doubles towards the capacity
   * (small engines never allocate the whole capacity), and the slack — room the ring has beyond the
   * budget, so that a block always finds contiguous space once the budget allows it — grows to a power
   * of two ≥ the largest block (a few resizes at most).
   */
  #resize(len: number): void {
    let budget = Math.max(this.#budget, Math.min(MIN_RING, this.capacity));
    while (budget < this.#bytes + len && budget < this.capacity) budget *= 2;
    budget = Math.min(this.capacity, budget);
    let slack = Math.max(this.#slack, 1024);
    while (slack < len) slack *= 2;
    const next = Buffer.allocUnsafeSlow(budget + slack);
    let at = 0;
    for (let k = 0; k < this.#qCount; k++) {
      const e = this.#queue[(this.#qHead + k) % this.#queue.length] as number;
      const s = this.#start[e] as number;
      const n = this.#len[e] as number;
      this.#ring.copy(next, at, s, s + n);
      this.#start[e] = at;
      at += n;
    }
    this.#ring = next;
    this.#tail = at;
    this.#budget = budget;
    this.#slack = slack;
  }

  #newEntry(): number {
    const e = this.#free.pop();
    if (e !== undefined) return e;
    const id = this.#entries++;
    if (id === this.#len.length) {
      const n = id * 2;
      this.#start = grow(this.#start, new Float64Array(n));
      this.#len = grow(this.#len, new Uint32Array(n));
      this.#block = grow(this.#block, new Int32Array(n));
      this.#ref = grow(this.#ref, new Uint8Array(n));
    }
    return id;
  }

  #pushBack(e: number): void {
    if (this.#qCount === this.#queue.length) {
      const q = new Int32Array(this.#queue.length * 2);
      for (let k = 0; k < this.#qCount; k++)
        q[k] = this.#queue[(this.#qHead + k) % this.#queue.length] as number;
      this.#queue = q;
      this.#qHead = 0;
    }
    this.#queue[(this.#qHead + this.#qCount) % this.#queue.length] = e;
    this.#qCount++;
  }

  #popFront(): void {
    this.#qHead = (this.#qHead + 1) % this.#queue.length;
    this.#qCount--;
  }
}

function grow<T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
