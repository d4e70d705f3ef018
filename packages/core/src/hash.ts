import xxhash from "xxhash-wasm";

// xxHash64 (seed 0) from a maintained WebAssembly build: identical on every platform and Node.js
// version, unlike a language's default hasher. Loaded once at import time.
const api = await xxhash();

/** A 64-bit hash split into two unsigned 32-bit halves (kept as numbers for speed). */
export interface Hash64 {
  readonly hi: number;
  readonly lo: number;
}

/** xxHash64 (seed 0) of the UTF-8 bytes of `text`, as a 16-digit lowercase hex string. */
export function xxh64Hex(text: string): string {
  return api.h64ToString(text);
}

/** xxHash64 (seed 0) of the UTF-8 bytes of `text`, as two 32-bit halves. */
export function xxh64(text: string): Hash64 {
  const hex = api.h64ToString(text);
  return { hi: Number.parseInt(hex.slice(0, 8), 16), lo: Number.parseInt(hex.slice(8), 16) };
}

/** murmur3's 32-bit finaliser: a bijective avalanche mix of one 32-bit word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Combines a key hash with a target hash into a uniform number in the open interval (0, 1) with
 * 53 bits of resolution: the rendezvous score input. Pure integer arithmetic, so the result is
 * the same on every platform.
 */
export function unitScore(key: Hash64, target: Hash64): number {
  const a = fmix32((key.lo ^ target.lo ^ fmix32((key.hi ^ target.hi) >>> 0)) >>> 0);
  const b = fmix32((key.hi ^ target.hi ^ Math.imul(a, 0x9e3779b1)) >>> 0);
  // 32 bits of a, 21 bits of b: 53 bits; +0.5 keeps the value strictly inside (0, 1).
  return (a * 2097152 + (b >>> 11) + 0.5) / 9007199254740992;
}

/** An incremental xxHash64 (seed 0): feed chunks with `update`, read the 16-digit hex with `digest`. */
export interface StreamingHash64 {
  update(chunk: Uint8Array): StreamingHash64;
  /** The hash of every chunk fed so far, as a 16-digit lowercase hex string. */
  digest(): string;
}

/**
 * A streaming xxHash64 (seed 0) of bytes, for checksums of files too large to hold in memory (the mover
 * hashes each file on both sides of a copy). Same value as hashing the concatenated bytes at once.
 */
export function createXxh64(): StreamingHash64 {
  const h = api.create64();
  const out: StreamingHash64 = {
    update(chunk) {
      h.update(chunk);
      return out;
    },
    digest() {
      return h.digest().toString(16).padStart(16, "0");
    },
  };
  return out;
}
