/**
 * Reading the parts of an SSTable a point lookup touches, without building objects: the resident block
 * index (searched for the block that may hold a key) and a raw data block (searched in place).
 */
import { ByteReader, compareRange } from "./bytes.js";

/** The first four bytes of `b[at, at + len)` as a big-endian u32, zero-padded: ordered like the bytes. */
function prefix32(b: Uint8Array, at: number, len: number): number {
  const b0 = len > 0 ? (b[at] as number) : 0;
  const b1 = len > 1 ? (b[at + 1] as number) : 0;
  const b2 = len > 2 ? (b[at + 2] as number) : 0;
  const b3 = len > 3 ? (b[at + 3] as number) : 0;
  return ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/**
 * A table's block index, kept resident in a few typed arrays instead of an object per block: every
 * block's last key packed into one buffer, a 4-byte prefix of each (so most comparisons of the binary
 * search are one integer compare), and the blocks' offsets and sizes.
 */
export class BlockIndex {
  /** Data blocks in the table. */
  readonly length: number;
  /** Last keys, packed: block `i`'s is `keys[keyAt[i], keyAt[i + 1])`. */
  readonly #keys: Uint8Array;
  readonly #keyAt: Uint32Array;
  readonly #prefix: Uint32Array;
  /** Offset of block `i` in the file. */
  readonly offset: Float64Array;
  /** Size of block `i` without its CRC. */
  readonly size: Uint32Array;

  private constructor(
    n: number,
    keys: Uint8Array,
    keyAt: Uint32Array,
    offset: Float64Array,
    size: Uint32Array,
  ) {
    this.length = n;
    this.#keys = keys;
    this.#keyAt = keyAt;
    this.offset = offset;
    this.size = size;
    this.#prefix = new Uint32Array(n);
    for (let i = 0; i < n; i++)
      this.#prefix[i] = prefix32(keys, keyAt[i] as number, (keyAt[i + 1] as number) - (keyAt[i] as number));
  }

  /**
   * Decodes an index block: per data block `varint lastKeyLength, lastKey, varint offset, varint size`.
   * Throws `RangeError` when it does not decode.
   */
  static decode(buf: Uint8Array): BlockIndex {
    const r = new ByteReader(buf);
    let n = 0;
    let keyBytes = 0;
    while (r.pos < r.end) {
      const len = r.varint();
      r.take(len);
      keyBytes += len;
      r.varint();
      r.varint();
      n++;
    }
    const keys = new Uint8Array(keyBytes);
    const keyAt = new Uint32Array(n + 1);
    const offset = new Float64Array(n);
    const size = new Uint32Array(n);
    const r2 = new ByteReader(buf);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const k = r2.take(r2.varint());
      keys.set(k, at);
      keyAt[i] = at;
      at += k.length;
      offset[i] = r2.varint();
      size[i] = r2.varint();
    }
    keyAt[n] = at;
    return new BlockIndex(n, keys, keyAt, offset, size);
  }

  /** Index of the first block whose last key is ≥ `key` ({@link length} when none is). */
  find(key: Uint8Array): number {
    const kp = prefix32(key, 0, key.length);
    const prefix = this.#prefix;
    const keyAt = this.#keyAt;
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = prefix[mid] as number;
      let c: number;
      if (p !== kp) c = p < kp ? -1 : 1;
      else {
        const at = keyAt[mid] as number;
        c = compareRange(this.#keys, at, (keyAt[mid + 1] as number) - at, key);
      }
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Bytes held (for sizing notes and tests). */
  get bytes(): number {
    return (
      this.#keys.byteLength +
      this.#keyAt.byteLength +
      this.#prefix.byteLength +
      this.offset.byteLength +
      this.size.byteLength
    );
  }
}

/** Little-endian u32 at `at` (no DataView per lookup). */
function u32le(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
    (b[at + 3] as number) * 0x100_0000
  );
}

let pos = 0;
/** Reads a LEB128 varint at {@link pos} (advancing it) without allocating; `RangeError` past `end`. */
function varintAt(b: Uint8Array, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) throw new RangeError("varint past end");
    const x = b[pos++] as number;
    result += (x & 0x7f) * mul;
    if (x < 0x80) return result;
    mul *= 128;
  }
  throw new RangeError("varint too long");
}

/** Holds the key being rebuilt while a block is searched (grown on demand; lookups are synchronous). */
let scratch = new Uint8Array(256);

/** What {@link searchBlock} returns when the block has no entry for the key. */
export const ABSENT = -2;
/** What {@link searchBlock} returns when the block holds a tombstone for the key. */
export const TOMBSTONE = -1;
/** Length of the value found by the last {@link searchBlock} that returned a position. */
export let foundLength = 0;

/**
 * Finds `key` in a raw data block `b[base, base + len)` (CRC already checked) without decoding it: a
 * binary search over the restart points (whose keys are stored whole), then a scan of at most one restart
 * interval. Returns where the value starts in `b` (its length in {@link foundLength}), {@link TOMBSTONE},
 * or {@link ABSENT}. Throws `RangeError` when the block is malformed.
 */
export function searchBlock(b: Uint8Array, base: number, len: number, key: Uint8Array): number {
  if (len < 4) throw new RangeError("block shorter than its restart count");
  const end = base + len;
  const nRestarts = u32le(b, end - 4);
  const dataEnd = end - 4 - nRestarts * 4;
  if (dataEnd < base) throw new RangeError("restart array larger than the block");
  if (nRestarts === 0) return ABSENT;
  // Last restart point whose (whole) key is ≤ key.
  let lo = 0;
  let hi = nRestarts - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    pos = base + u32le(b, dataEnd + mid * 4);
    if (pos >= dataEnd) throw new RangeError("restart point past the entries");
    if (varintAt(b, dataEnd) !== 0) throw new RangeError("restart entry shares a prefix");
    const unshared = varintAt(b, dataEnd);
    varintAt(b, dataEnd);
    if (pos + unshared > dataEnd) throw new RangeError("key past end");
    if (compareRange(b, pos, unshared, key) <= 0) lo = mid;
    else hi = mid - 1;
  }
  pos = base + u32le(b, dataEnd + lo * 4);
  let keyLen = 0;
  while (pos < dataEnd) {
    const shared = varintAt(b, dataEnd);
    const unshared = varintAt(b, dataEnd);
    const vtag = varintAt(b, dataEnd);
    if (shared > keyLen) throw new RangeError("shared prefix longer than the previous key");
    if (pos + unshared > dataEnd) throw new RangeError("key past end");
    keyLen = shared + unshared;
    if (keyLen > scratch.length) {
      const grown = new Uint8Array(Math.max(keyLen, scratch.length * 2));
      grown.set(scratch.subarray(0, shared));
      scratch = grown;
    }
    for (let j = 0; j < unshared; j++) scratch[shared + j] = b[pos + j] as number;
    pos += unshared;
    const vlen = vtag === 0 ? 0 : vtag - 1;
    if (pos + vlen > dataEnd) throw new RangeError("value past end");
    const c = compareRange(scratch, 0, keyLen, key);
    if (c === 0) {
      if (vtag === 0) return TOMBSTONE;
      foundLength = vlen;
      return pos;
    }
    if (c > 0) return ABSENT;
    pos += vlen;
  }
  return ABSENT;
}
