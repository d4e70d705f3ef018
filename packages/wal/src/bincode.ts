import { crc32c } from "@node-rs/crc32";
import type { DecodedSegment, DecodeFailure, SegmentCodec, SegmentWriter } from "./codec.js";
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
 */
export const FRAME_HEADER_BYTES = 8;
/** Smallest possible body: every length/tag field with empty strings and no options. */
export const MIN_BODY_BYTES = 8 + 8 + 8 + 4 + 8 + 1 + 1 + 1;
const MAX_BODY_BYTES = 0x7fff_ffff;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bodyLength(r: EncodableRecord): number {
  let n = 8 + 8 + 8 + Buffer.byteLength(r.collection) + 4 + 8 + Buffer.byteLength(r.id) + 3;
  if (r.vector) n += 8 + r.vector.length * 4;
  if (r.metadata !== undefined) n += 8 + Buffer.byteLength(r.metadata);
  if (r.payload) n += 8 + r.payload.length;
  return n;
}

/** Writes a u64 LE from a safe integer without BigInt. */
function writeU64(buf: Buffer, value: number, pos: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, pos);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), pos + 4);
}

function writeString(buf: Buffer, pos: number, s: string): number {
  const len = buf.write(s, pos + 8, "utf8");
  writeU64(buf, len, pos);
  return pos + 8 + len;
}

/** Encodes records as consecutive frames into one buffer. */
export function encodeFrames(records: readonly EncodableRecord[]): Buffer {
  const lengths = records.map(bodyLength);
  const buf = Buffer.allocUnsafe(lengths.reduce((a, b) => a + b + FRAME_HEADER_BYTES, 0));
  let pos = 0;
  records.forEach((r, i) => {
    const len = lengths[i] as number;
    const start = pos + FRAME_HEADER_BYTES;
    let p = start;
    writeU64(buf, r.sequence, p);
    buf.writeBigInt64LE(BigInt(r.timestamp), p + 8);
    p = writeString(buf, p + 16, r.collection);
    buf.writeUInt32LE(r.op === "put" ? 0 : 1, p);
    p = writeString(buf, p + 4, r.id);
    if (r.vector) {
      buf[p] = 1;
      writeU64(buf, r.vector.length, p + 1);
      p += 9;
      if (LITTLE_ENDIAN) {
        buf.set(new Uint8Array(r.vector.buffer, r.vector.byteOffset, r.vector.byteLength), p);
        p += r.vector.byteLength;
      } else {
        for (const f of r.vector) p = buf.writeFloatLE(f, p);
      }
    } else buf[p++] = 0;
    if (r.metadata !== undefined) {
      buf[p] = 1;
      p = writeString(buf, p + 1, r.metadata);
    } else buf[p++] = 0;
    if (r.payload) {
      buf[p] = 1;
      writeU64(buf, r.payload.length, p + 1);
      buf.set(r.payload, p + 9);
      p += 9 + r.payload.length;
    } else buf[p++] = 0;
    buf.writeUInt32LE(len, pos);
    buf.writeUInt32LE(crc32c(buf.subarray(start, start + len)), pos + 4);
    pos = start + len;
  });
  return buf;
}

class Malformed extends Error {}

/** Decodes one body; throws {@link Malformed} when it does not parse to exactly its length. */
export function decodeBody(body: Buffer): EncodableRecord {
  let p = 0;
  const need = (n: number) => {
    if (p + n > body.length) throw new Malformed("short body");
  };
  const u64 = (): number => {
    need(8);
    const lo = body.readUInt32LE(p);
    const hi = body.readUInt32LE(p + 4);
    p += 8;
    if (hi > 0x1fffff) throw new Malformed("u64 out of range");
    return hi * 0x1_0000_0000 + lo;
  };
  const str = (): string => {
    const n = u64();
    need(n);
    const s = body.toString("utf8", p, p + n);
    p += n;
    return s;
  };
  const tag = (): boolean => {
    need(1);
    const t = body[p++];
    if (t !== 0 && t !== 1) throw new Malformed("bad option tag");
    return t === 1;
  };
  const sequence = u64();
  need(8);
  const ts = body.readUInt32LE(p) + body.readInt32LE(p + 4) * 0x1_0000_0000;
  p += 8;
  const collection = str();
  need(4);
  const opTag = body.readUInt32LE(p);
  p += 4;
  if (opTag > 1) throw new Malformed("bad op");
  const op: WalOp = opTag === 0 ? "put" : "delete";
  const id = str();
  let vector: Float32Array | undefined;
  if (tag()) {
    const n = u64();
    need(n * 4);
    vector = new Float32Array(n);
    if (LITTLE_ENDIAN) new Uint8Array(vector.buffer).set(body.subarray(p, p + n * 4));
    else for (let i = 0; i < n; i++) vector[i] = body.readFloatLE(p + i * 4);
    p += n * 4;
  }
  const metadata = tag() ? str() : undefined;
  let payload: Uint8Array | undefined;
  if (tag()) {
    const n = u64();
    need(n);
    payload = new Uint8Array(n);
    payload.set(body.subarray(p, p + n));
    p += n;
  }
  if (p !== body.length) throw new Malformed("trailing bytes");
  return { sequence, timestamp: ts, collection, op, id, vector, metadata, payload };
}

/** Decodes a `.bincode` segment up to its first torn or corrupt frame. */
export function decodeFrames(bytes: Uint8Array): DecodedSegment {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: EncodableRecord[] = [];
  let pos = 0;
  let failure: DecodeFailure | undefined;
  while (pos < buf.length) {
    if (pos + FRAME_HEADER_BYTES > buf.length) {
      failure = { offset: pos, reason: "torn" };
      break;
    }
    const len = buf.readUInt32LE(pos);
    const crc = buf.readUInt32LE(pos + 4);
    if (len < MIN_BODY_BYTES || len > MAX_BODY_BYTES) {
      failure = { offset: pos, reason: "malformed" };
      break;
    }
    const start = pos + FRAME_HEADER_BYTES;
    if (start + len > buf.length) {
      failure = { offset: pos, reason: "torn" };
      break;
    }
    const body = buf.subarray(start, start + len);
    if (crc32c(body) !== crc) {
      failure = { offset: pos, reason: "checksum" };
      break;
    }
    try {
      records.push(decodeBody(body));
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
      failure = { offset: pos, reason: "malformed" };
      break;
    }
    pos = start + len;
  }
  return { records, validBytes: failure ? failure.offset : buf.length, headerBytes: 0, failure };
}

/** The `.bincode` {@link SegmentCodec}. */
export const bincodeCodec: SegmentCodec = {
  encoding: "bincode",
  ext: ".bincode",
  newSegment(): SegmentWriter {
    return { header: new Uint8Array(0), encode: encodeFrames };
  },
  decode: decodeFrames,
};
