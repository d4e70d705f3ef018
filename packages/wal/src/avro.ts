import { randomBytes } from "node:crypto";
import avro from "avsc";
import type { DecodedSegment, DecodeFailure, SegmentCodec, SegmentWriter } from "./codec.js";
import type { EncodableRecord } from "./record.js";

/**
 * The Avro schema of a WAL record (`.avro` segments are standard Avro object container files,
 * codec `null`, one block per append group).
 */
export const WAL_AVRO_SCHEMA = {
  type: "record",
  name: "WalRecord",
  namespace: "proximadb.wal",
  fields: [
    { name: "sequence", type: "long" },
    { name: "timestamp", type: "long" },
    { name: "collection", type: "string" },
    { name: "op", type: { type: "enum", name: "WalOp", symbols: ["put", "delete"] } },
    { name: "id", type: "string" },
    { name: "vector", type: ["null", { type: "array", items: "float" }], default: null },
    { name: "metadata", type: ["null", "string"], default: null },
    { name: "payload", type: ["null", "bytes"], default: null },
  ],
} as const;

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj" 1
const SYNC_BYTES = 16;
const recordType = avro.Type.forSchema(WAL_AVRO_SCHEMA as unknown as avro.Schema);
const schemaJson = JSON.stringify(WAL_AVRO_SCHEMA);
const metaType = avro.Type.forSchema({ type: "map", values: "bytes" });
const longType = avro.Type.forSchema("long");

interface AvroRecordValue {
  sequence: number;
  timestamp: number;
  collection: string;
  op: "put" | "delete";
  id: string;
  vector: number[] | null;
  metadata: string | null;
  payload: Buffer | null;
}

type PlainField = "sequence" | "timestamp" | "collection" | "op" | "id";

/** The fields a record holds alike in both shapes, copied as they are. */
function plainFields(r: EncodableRecord | AvroRecordValue): Pick<AvroRecordValue, PlainField> {
  return { sequence: r.sequence, timestamp: r.timestamp, collection: r.collection, op: r.op, id: r.id };
}

function toAvro(r: EncodableRecord): AvroRecordValue {
  return {
    ...plainFields(r),
    vector: r.vector ? Array.from(r.vector) : null,
    metadata: r.metadata ?? null,
    payload: r.payload ? Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength) : null,
  };
}

function fromAvro(v: AvroRecordValue): EncodableRecord {
  const payload = v.payload;
  return {
    ...plainFields(v),
    vector: v.vector ? Float32Array.from(v.vector) : undefined,
    metadata: v.metadata ?? undefined,
    // avsc already copied the bytes out of the segment: a plain view, no second copy.
    payload: payload ? new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) : undefined,
  };
}

/** Builds an Avro container header with a fresh sync marker. */
function header(sync: Buffer): Buffer {
  const meta = metaType.toBuffer({
    "avro.schema": Buffer.from(schemaJson),
    "avro.codec": Buffer.from("null"),
  });
  return Buffer.concat([MAGIC, meta, sync]);
}

/** Scratch space records are encoded into before their block is assembled (grows, never shrinks). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** Encodes every record of a group into `scratch`; returns the bytes used. */
function encodeRecords(records: readonly EncodableRecord[]): number {
  for (;;) {
    let pos = 0;
    for (let i = 0; i < records.length && pos >= 0; i++)
      pos = recordType.encode(toAvro(records[i] as EncodableRecord), scratch, pos);
    if (pos >= 0) return pos;
    // Too small: avsc returns minus the missing bytes of the record that did not fit; grow and redo.
    scratch = Buffer.allocUnsafe(Math.max(scratch.length * 2, scratch.length - pos));
  }
}

/** Bytes of an Avro `long` (zig-zag varint) for a non-negative safe integer. */
function longBytes(n: number): number {
  let bytes = 1;
  for (let z = n * 2; z >= 128; z = Math.floor(z / 128)) bytes++;
  return bytes;
}

/** One Avro block (`count | size | data | sync`) after `prefix`, in one buffer. */
function block(
  records: readonly EncodableRecord[],
  sync: Buffer,
  prefix: Uint8Array | undefined,
  reuse: Buffer | undefined,
): Buffer {
  const dataBytes = encodeRecords(records);
  const head = prefix?.length ?? 0;
  const size = head + longBytes(records.length) + longBytes(dataBytes) + dataBytes + SYNC_BYTES;
  const out = reuse && reuse.length >= size ? reuse.subarray(0, size) : Buffer.allocUnsafe(size);
  if (prefix) out.set(prefix, 0);
  let pos = longType.encode(records.length, out, head);
  pos = longType.encode(dataBytes, out, pos);
  scratch.copy(out, pos, 0, dataBytes);
  sync.copy(out, pos + dataBytes);
  return out;
}

/** Resolvers from other writer schemas (older or foreign writers), built once per schema. */
const resolvers = new Map<string, avro.Resolver | undefined>();

function resolverFor(writerJson: string): avro.Resolver | undefined {
  if (resolvers.has(writerJson)) return resolvers.get(writerJson);
  let resolver: avro.Resolver | undefined;
  try {
    resolver = recordType.createResolver(avro.Type.forSchema(JSON.parse(writerJson)));
  } catch {
    resolver = undefined;
  }
  if (resolvers.size < 64) resolvers.set(writerJson, resolver);
  return resolver;
}

/** Decodes an Avro WAL segment up to its first torn or corrupt block. */
export function decodeAvroSegment(bytes: Uint8Array): DecodedSegment {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: EncodableRecord[] = [];
  const fail = (offset: number, reason: DecodeFailure["reason"], headerBytes = 0): DecodedSegment => ({
    records,
    validBytes: offset,
    headerBytes,
    failure: { offset, reason },
  });
  if (buf.length < MAGIC.length) return fail(0, "torn");
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) return fail(0, "malformed");
  let meta: { value: Record<string, Buffer>; offset: number };
  try {
    meta = metaType.decode(buf, MAGIC.length);
  } catch {
    return fail(0, "malformed");
  }
  if (meta.offset < 0 || meta.offset + SYNC_BYTES > buf.length) return fail(0, "torn");
  const writerSchema = meta.value["avro.schema"];
  const codec = meta.value["avro.codec"]?.toString() ?? "null";
  if (!writerSchema || codec !== "null") return fail(0, "malformed");
  let resolver: avro.Resolver | undefined;
  const writerJson = writerSchema.toString();
  if (writerJson !== schemaJson) {
    resolver = resolverFor(writerJson);
    if (!resolver) return fail(0, "malformed");
  }
  const sync = buf.subarray(meta.offset, meta.offset + SYNC_BYTES);
  const headerBytes = meta.offset + SYNC_BYTES;
  let pos = headerBytes;
  while (pos < buf.length) {
    let count: { value: number; offset: number };
    let size: { value: number; offset: number };
    try {
      count = longType.decode(buf, pos);
      if (count.offset < 0) return fail(pos, "torn", headerBytes);
      size = longType.decode(buf, count.offset);
      if (size.offset < 0) return fail(pos, "torn", headerBytes);
    } catch {
      return fail(pos, "malformed", headerBytes);
    }
    if (!(count.value > 0) || !(size.value >= 0) || !Number.isSafeInteger(size.value))
      return fail(pos, "malformed", headerBytes);
    const dataEnd = size.offset + size.value;
    if (dataEnd + SYNC_BYTES > buf.length) return fail(pos, "torn", headerBytes);
    if (!buf.subarray(dataEnd, dataEnd + SYNC_BYTES).equals(sync))
      return fail(pos, "sync-marker", headerBytes);
    const blockRecords: EncodableRecord[] = [];
    let p = size.offset;
    try {
      for (let i = 0; i < count.value; i++) {
        const r = recordType.decode(buf, p, resolver);
        if (r.offset < 0 || r.offset > dataEnd) return fail(pos, "malformed", headerBytes);
        blockRecords.push(fromAvro(r.value as AvroRecordValue));
        p = r.offset;
      }
    } catch {
      return fail(pos, "malformed", headerBytes);
    }
    if (p !== dataEnd) return fail(pos, "malformed", headerBytes);
    records.push(...blockRecords);
    pos = dataEnd + SYNC_BYTES;
  }
  return { records, validBytes: buf.length, headerBytes, failure: undefined };
}

/** The `.avro` {@link SegmentCodec}. */
export const avroCodec: SegmentCodec = {
  encoding: "avro",
  ext: ".avro",
  newSegment(): SegmentWriter {
    const sync = randomBytes(SYNC_BYTES);
    return { header: header(sync), encode: (records, prefix, reuse) => block(records, sync, prefix, reuse) };
  },
  decode: decodeAvroSegment,
  // avsc offers no validating skip: recovery decodes (Avro segments are the interoperable, slower choice).
  scan: (bytes) => {
    const d = decodeAvroSegment(bytes);
    return { ...d, records: d.records.length, lastSequence: d.records[d.records.length - 1]?.sequence };
  },
};
