import { crc32c } from "@node-rs/crc32";
import type { DecodedSegment, DecodeFailure, SegmentCodec, SegmentScan, SegmentWriter } from "./codec.js";
import type { EncodableRecord, WalOp } from "./record.js";

/**
 * `.bincode` segments: a plain sequence of frames, no file header.
 *
 *     frame = u32 LE body length | u32 LE CRC32C(body) | body
 *     body  = bincode v1 (fixint, little-endian) of
 *       struct WalRecord { sequence: u64, timestamp: i64, collection: String, op: WalOp /* u32: 0 put, 1 delete *\/,
 *                          id: String, vector: Option<Vec<f32>>, metadata: Option<String> /* JSON *\/, payload: Option<Vec<u8>> }
 *
 * String/Vec = u64 LE length + bytes (f32 LE each); Option = u8 tag (0 None, 1 Some) + value.
 *
 * The hot paths (a group commit encodes every record of the group; replay decodes whole segments) write and
 * read bytes directly: no per-record closures, BigInts or intermediate buffers.
 */
export const FRAME_HEADER_BYTES = 8;
/** Smallest possible body: every length/tag field with empty strings and no options. */
export const MIN_BODY_BYTES = 8 + 8 + 8 + 4 + 8 + 1 + 1 + 1;
const MAX_BODY_BYTES = 0x7fff_ffff;
const TWO_32 = 0x1_0000_0000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of a frame (header + body) for one record. */
function frameLength(r: EncodableRecord): number {
  let n =
    FRAME_HEADER_BYTES + 8 + 8 + 8 + Buffer.byteLength(r.collection) + 4 + 8 + Buffer.byteLength(r.id) + 3;
  if (r.vector) n += 8 + r.vector.length * 4;
  if (r.metadata !== undefined) n += 8 + Buffer.byteLength(r.metadata);
  if (r.payload) n += 8 + r.payload.length;
  return n;
}

function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v;
  buf[pos + 1] = v >>> 8;
  buf[pos + 2] = v >>> 16;
  buf[pos + 3] = v >>> 24;
}

/** Writes a u64 LE from a non-negative safe integer (an i64 when negative: two's complement) without BigInt. */
function writeU64(buf: Uint8Array, pos: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  writeU32(buf, pos, value - hi * TWO_32);
  writeU32(buf, pos + 4, hi);
}

function writeString(buf: Buffer, pos: number, s: string): number {
  const len = buf.write(s, pos + 8, "utf8");
  writeU64(buf, pos, len);
  return pos + 8 + len;
}

/** Bytes {@link encodeFramesInto} writes for `records`. */
export function framesLength(records: readonly EncodableRecord[]): number {
  let n = 0;
  for (let i = 0; i < records.length; i++) n += frameLength(records[i] as EncodableRecord);
  return n;
}

/**
 * Encodes records as consecutive frames into `buf` from `pos` (which must have {@link framesLength} bytes
 * free); returns the end position.
 */
export function encodeFramesInto(records: readonly EncodableRecord[], buf: Buffer, pos: number): number {
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as EncodableRecord;
    const start = pos + FRAME_HEADER_BYTES;
    writeU64(buf, start, r.sequence);
    writeU64(buf, start + 8, r.timestamp);
    let p = writeString(buf, start + 16, r.collection);
    writeU32(buf, p, r.op === "put" ? 0 : 1);
    p = writeString(buf, p + 4, r.id);
    const vector = r.vector;
    if (vector) {
      buf[p] = 1;
      writeU64(buf, p + 1, vector.length);
      p += 9;
      if (LITTLE_ENDIAN) {
        buf.set(new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength), p);
        p += vector.byteLength;
      } else {
        for (let k = 0; k < vector.length; k++) p = buf.writeFloatLE(vector[k] as number, p);
      }
    } else buf[p++] = 0;
    if (r.metadata !== undefined) {
      buf[p] = 1;
      p = writeString(buf, p + 1, r.metadata);
    } else buf[p++] = 0;
    const payload = r.payload;
    if (payload) {
      buf[p] = 1;
      writeU64(buf, p + 1, payload.length);
      buf.set(payload, p + 9);
      p += 9 + payload.length;
    } else buf[p++] = 0;
    writeU32(buf, pos, p - start);
    writeU32(buf, pos + 4, crc32c(buf.subarray(start, p)));
    pos = p;
  }
  return pos;
}

/** Encodes records as consecutive frames into one buffer. */
export function encodeFrames(records: readonly EncodableRecord[]): Buffer {
  const buf = Buffer.allocUnsafe(framesLength(records));
  encodeFramesInto(records, buf, 0);
  return buf;
}

/**
 * Reads one body in place (positions are absolute in the segment buffer): one reader per segment, no
 * per-field closures. Every read checks its bounds against the body's end; a failed check sets `bad`.
 */
class BodyReader {
  buf: Buffer;
  pos = 0;
  end = 0;
  bad = false;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  u32(): number {
    const p = this.pos;
    if (p + 4 > this.end) return this.#fail();
    this.pos = p + 4;
    const b = this.buf;
    return (
      ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) +
      (b[p + 3] as number) * 0x100_0000
    );
  }

  /** A u64 that must be a safe integer. */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    if (hi > 0x1fffff) return this.#fail();
    return hi * TWO_32 + lo;
  }

  i64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return (hi | 0) * TWO_32 + lo;
  }

  /** An Option tag: true for Some. */
  tag(): boolean {
    const p = this.pos;
    if (p + 1 > this.end) return this.#fail() === 1;
    this.pos = p + 1;
    const t = this.buf[p];
    if (t === 1) return true;
    if (t !== 0) this.bad = true;
    return false;
  }

  /** Advances over `n` bytes and returns where they start, or -1. */
  take(n: number): number {
    const p = this.pos;
    if (this.bad || n > this.end - p) return this.#fail(-1);
    this.pos = p + n;
    return p;
  }

  str(): string {
    const n = this.u64();
    const p = this.take(n);
    return p < 0 ? "" : this.buf.toString("utf8", p, p + n);
  }

  #fail(v = 0): number {
    this.bad = true;
    this.pos = this.end;
    return v;
  }
}

/**
 * Copies `buf[p, p + n)` out. Small copies come from Node's Buffer pool (one allocation per 8 KiB slab, offsets
 * 8-byte aligned, so a Float32Array fits) instead of one ArrayBuffer each: replay of 1 KiB records is
 * allocation-bound otherwise. The result is a plain Uint8Array view.
 */
function copyOut(buf: Buffer, p: number, n: number): Uint8Array {
  const out = Buffer.allocUnsafe(n);
  buf.copy(out, 0, p, p + n);
  return new Uint8Array(out.buffer, out.byteOffset, n);
}

/** Decodes one body (`buf[start, end)`); `undefined` when it does not parse to exactly its length. */
function readBody(r: BodyReader, start: number, end: number): EncodableRecord | undefined {
  r.pos = start;
  r.end = end;
  r.bad = false;
  const buf = r.buf;
  const sequence = r.u64();
  const timestamp = r.i64();
  const collection = r.str();
  const opTag = r.u32();
  if (opTag > 1) return undefined;
  const op: WalOp = opTag === 0 ? "put" : "delete";
  const id = r.str();
  let vector: Float32Array | undefined;
  if (r.tag()) {
    const n = r.u64();
    const p = r.take(n * 4);
    if (p >= 0) {
      if (LITTLE_ENDIAN) {
        const bytes = copyOut(buf, p, n * 4);
        vector = new Float32Array(bytes.buffer, bytes.byteOffset, n);
      } else {
        vector = new Float32Array(n);
        for (let i = 0; i < n; i++) vector[i] = buf.readFloatLE(p + i * 4);
      }
    }
  }
  const metadata = r.tag() ? r.str() : undefined;
  let payload: Uint8Array | undefined;
  if (r.tag()) {
    const n = r.u64();
    const p = r.take(n);
    // A copy: a replayed record must not pin the whole segment buffer.
    if (p >= 0) payload = copyOut(buf, p, n);
  }
  if (r.bad || r.pos !== end) return undefined;
  return { sequence, timestamp, collection, op, id, vector, metadata, payload };
}

/** Walks one body like {@link readBody} without building anything; returns its sequence or -1. */
function checkBody(r: BodyReader, start: number, end: number): number {
  r.pos = start;
  r.end = end;
  r.bad = false;
  const sequence = r.u64();
  r.i64();
  r.take(r.u64());
  if (r.u32() > 1) return -1;
  r.take(r.u64());
  if (r.tag()) r.take(r.u64() * 4);
  if (r.tag()) r.take(r.u64());
  if (r.tag()) r.take(r.u64());
  return r.bad || r.pos !== end ? -1 : sequence;
}

/**
 * Walks frames, checking lengths, CRC32C and bodies; calls `onRecord` for each good frame. Returns the
 * offset and reason of the first bad frame, if any.
 */
function walkFrames(
  buf: Buffer,
  onRecord: (reader: BodyReader, start: number, end: number) => boolean,
): DecodeFailure | undefined {
  const reader = new BodyReader(buf);
  const size = buf.length;
  let pos = 0;
  while (pos < size) {
    if (pos + FRAME_HEADER_BYTES > size) return { offset: pos, reason: "torn" };
    const len = buf.readUInt32LE(pos);
    const crc = buf.readUInt32LE(pos + 4);
    if (len < MIN_BODY_BYTES || len > MAX_BODY_BYTES) return { offset: pos, reason: "malformed" };
    const start = pos + FRAME_HEADER_BYTES;
    const end = start + len;
    if (end > size) return { offset: pos, reason: "torn" };
    if (crc32c(buf.subarray(start, end)) !== crc) return { offset: pos, reason: "checksum" };
    if (!onRecord(reader, start, end)) return { offset: pos, reason: "malformed" };
    pos = end;
  }
  return undefined;
}

/** Checks a `.bincode` segment like {@link decodeFrames} without building its records. */
export function scanFrames(bytes: Uint8Array): SegmentScan {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let records = 0;
  let lastSequence: number | undefined;
  const failure = walkFrames(buf, (reader, start, end) => {
    const sequence = checkBody(reader, start, end);
    if (sequence < 0) return false;
    records++;
    lastSequence = sequence;
    return true;
  });
  return {
    records,
    lastSequence,
    validBytes: failure ? failure.offset : buf.length,
    headerBytes: 0,
    failure,
  };
}

/** Decodes a `.bincode` segment up to its first torn or corrupt frame. */
export function decodeFrames(bytes: Uint8Array): DecodedSegment {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: EncodableRecord[] = [];
  const failure = walkFrames(buf, (reader, start, end) => {
    const record = readBody(reader, start, end);
    if (record) records.push(record);
    return record !== undefined;
  });
  return { records, validBytes: failure ? failure.offset : buf.length, headerBytes: 0, failure };
}

/** The `.bincode` {@link SegmentCodec}. */
export const bincodeCodec: SegmentCodec = {
  encoding: "bincode",
  ext: ".bincode",
  newSegment(): SegmentWriter {
    return {
      header: new Uint8Array(0),
      encode: (records, header, reuse) => {
        const size = (header?.length ?? 0) + framesLength(records);
        const buf = reuse && reuse.length >= size ? reuse.subarray(0, size) : Buffer.allocUnsafe(size);
        if (header) buf.set(header, 0);
        encodeFramesInto(records, buf, header?.length ?? 0);
        return buf;
      },
    };
  },
  decode: decodeFrames,
  scan: scanFrames,
};
