/** Byte helpers shared by the memtable and the SSTable code. */

const encoder = new TextEncoder();

/** A key or value as accepted by the public API: bytes, or a string stored as UTF-8. */
export type Bytes = Uint8Array | string;

/** UTF-8 for strings, the bytes themselves otherwise. */
export function toBytes(v: Bytes): Uint8Array {
  return typeof v === "string" ? encoder.encode(v) : v;
}

/**
 * Unsigned lexicographic byte order (memcmp), the order of every key in this package. A JavaScript loop:
 * keys are short and usually differ early, where it is about twice as fast as the native
 * `Buffer.compare` call (measured; the call itself dominates).
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** {@link compareBytes} of `buf[start, start + len)` against `key`, without making a view. */
export function compareRange(buf: Uint8Array, start: number, len: number, key: Uint8Array): number {
  const n = Math.min(len, key.length);
  for (let i = 0; i < n; i++) {
    const d = (buf[start + i] as number) - (key[i] as number);
    if (d !== 0) return d;
  }
  return len - key.length;
}

/**
 * The bytes as a Latin-1 string: one UTF-16 code unit per byte, so JavaScript's string order is
 * exactly byte order. The memtable uses these as `Map` keys and sorts them natively.
 */
export function latin1(b: Uint8Array): string {
  // Buffers (every key the engine copied in) convert directly: the wrapping view costs as much again.
  return (b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString("latin1");
}

/**
 * A copy of `b[start, start + length)` that shares no memory with `b` (small copies come from Node's
 * buffer pool, as `Buffer.allocUnsafe` does). What a get or scan hands out: never a view into a cached
 * block, a read buffer or a memtable slab.
 */
export function copyOut(b: Uint8Array, start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  if (b instanceof Buffer) b.copy(out, 0, start, start + length);
  else out.set(b.subarray(start, start + length));
  return out;
}

/** A growable byte buffer with LEB128 varints, for building blocks. */
export class ByteWriter {
  buf: Buffer;
  length = 0;

  constructor(capacity = 8192) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.length++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.length++] = n;
  }

  u32(n: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(n >>> 0, this.length);
    this.length += 4;
  }

  bytes(b: Uint8Array, start = 0, end = b.length): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    if (n <= 32) {
      // Short keys and key suffixes: a loop beats making a subarray view for `set`.
      let o = this.length;
      for (let i = start; i < end; i++) buf[o++] = b[i] as number;
    } else buf.set(start === 0 && end === b.length ? b : b.subarray(start, end), this.length);
    this.length += n;
  }

  /** The written bytes (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

/** A cursor over bytes with LEB128 varints. Throws `RangeError` on overrun (callers map it to corruption). */
export class ByteReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new RangeError("varint past end");
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new RangeError("varint too long");
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) throw new RangeError("read past end");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}
