/**
 * A bloom filter per SSTable (LevelDB's scheme): one 32-bit hash per key, `k` probes derived by
 * double hashing (`h += rotr(h, 17)`), `bitsPerKey` bits per key (10 → about 1 % false positives).
 */

/** Murmur-style 32-bit hash of `b[offset, offset + length)` (seeded), stable across platforms. */
export function hash32(b: Uint8Array, seed = 0xbc9f1d34, length = b.length, offset = 0): number {
  const m = 0xc6a4a793;
  let h = (seed ^ Math.imul(length, m)) >>> 0;
  let i = offset;
  const end = offset + length;
  for (; i + 4 <= end; i += 4) {
    const w =
      ((b[i] as number) |
        ((b[i + 1] as number) << 8) |
        ((b[i + 2] as number) << 16) |
        ((b[i + 3] as number) << 24)) >>>
      0;
    h = (h + w) >>> 0;
    h = Math.imul(h, m) >>> 0;
    h ^= h >>> 16;
  }
  const rest = end - i;
  if (rest === 3) h = (h + ((b[i + 2] as number) << 16)) >>> 0;
  if (rest >= 2) h = (h + ((b[i + 1] as number) << 8)) >>> 0;
  if (rest >= 1) {
    h = (h + (b[i] as number)) >>> 0;
    h = Math.imul(h, m) >>> 0;
    h ^= h >>> 24;
  }
  return h >>> 0;
}

/** Builds the filter bytes: the bit array followed by one byte holding `k`. */
export function buildBloom(hashes: readonly number[] | Uint32Array, bitsPerKey: number): Uint8Array {
  const k = Math.max(1, Math.min(30, Math.round(bitsPerKey * 0.69)));
  const bits = Math.max(64, hashes.length * bitsPerKey);
  const bytes = Math.ceil(bits / 8);
  const nbits = bytes * 8;
  const out = new Uint8Array(bytes + 1);
  for (let j = 0; j < hashes.length; j++) {
    let h = hashes[j] as number;
    const delta = ((h >>> 17) | (h << 15)) >>> 0;
    for (let p = 0; p < k; p++) {
      const bit = h % nbits;
      out[bit >>> 3] = (out[bit >>> 3] as number) | (1 << (bit & 7));
      h = (h + delta) >>> 0;
    }
  }
  out[bytes] = k;
  return out;
}

/** False when the key is certainly absent from the filter's file; true when it may be present. */
export function bloomMayContain(filter: Uint8Array, h: number): boolean {
  const bytes = filter.length - 1;
  if (bytes <= 0) return true;
  const k = filter[bytes] as number;
  const nbits = bytes * 8;
  const delta = ((h >>> 17) | (h << 15)) >>> 0;
  for (let p = 0; p < k; p++) {
    const bit = h % nbits;
    if (((filter[bit >>> 3] as number) & (1 << (bit & 7))) === 0) return false;
    h = (h + delta) >>> 0;
  }
  return true;
}
