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

function toAvro(r: EncodableRecord): AvroRecordValue {
  return {
    sequence: r.sequence,
    timestamp: r.timestamp,
    collection: r.collection,
    op: r.op,
    id: r.id,
    vector: r.vector ? Array.from(r.vector) : null,
    metadata: r.metadata ?? null,
    payload: r.payload ? Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength) : null,
  };
}

function fromAvro(v: AvroRecordValue): EncodableRecord {
  return {
    sequence: v.sequence,
    timestamp: v.timestamp,
    collection: v.collection,
    op: v.op,
    id: v.id,
    vector: v.vector ? Float32Array.from(v.vector) : undefined,
    metadata: v.metadata ?? undefined,
    payload: v.payload ? new Uint8Array(v.payload) : undefined,
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

function block(records: readonly EncodableRecord[], sync: Buffer): Buffer {
  const data = Buffer.concat(records.map((r) => recordType.toBuffer(toAvro(r))));
  return Buffer.concat([longType.toBuffer(records.length), longType.toBuffer(data.length), data, sync]);
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
  if (writerSchema.toString() !== schemaJson) {
    try {
      resolver = recordType.createResolver(avro.Type.forSchema(JSON.parse(writerSchema.toString())));
    } catch {
      return fail(0, "malformed");
    }
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
    return { header: header(sync), encode: (records) => block(records, sync) };
  },
  decode: decodeAvroSegment,
};
