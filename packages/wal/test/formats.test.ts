import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { AssignmentService } from "@proximadb/core";
import { useBackend } from "@proximadb/testing-backends";
import avro from "avsc";
import { describe, expect, it } from "vitest";
import { crc32c } from "@node-rs/crc32";
import { scanFrames } from "../src/bincode.js";
import { WriteAheadLog, decodeFrames, encodeFrames } from "../src/index.js";
import { entries } from "./records.js";

/** The README's example frame, built by hand from the layout (CRC32C computed independently). */
const GOLDEN_FRAME =
  "4a000000a407a209" + // body length 74, CRC32C 0x09a207a4
  "0100000000000000" + // sequence: u64 1
  "0068e5cf8b010000" + // timestamp: i64 1700000000000
  "02000000000000006331" + // collection: "c1"
  "00000000" + // op: Put (u32 variant 0)
  "02000000000000007631" + // id: "v1"
  "01" +
  "0200000000000000" +
  "0000803f" +
  "00000040" + // vector: Some([1.0, 2.0])
  "01" +
  "0700000000000000" +
  "7b2261223a317d" + // metadata: Some("{\"a\":1}")
  "00"; // payload: None

describe(".bincode layout", () => {
  it("encodes a record exactly as the README's hex example (Rust bincode v1, fixint, little-endian)", () => {
    const bytes = encodeFrames([
      {
        sequence: 1,
        timestamp: 1_700_000_000_000,
        collection: "c1",
        op: "put",
        id: "v1",
        vector: Float32Array.from([1, 2]),
        metadata: '{"a":1}',
        payload: undefined,
      },
    ]);
    expect(bytes.toString("hex")).toBe(GOLDEN_FRAME);
  });

  it("recovery's scan accepts and rejects exactly what decoding does, at the same offsets", () => {
    const frames = encodeFrames(
      entries(0, 6).map((e, i) => ({
        sequence: i + 1,
        timestamp: e.timestamp as number,
        collection: "c1",
        op: e.op,
        id: e.id,
        vector: e.vector,
        metadata: e.metadata === undefined ? undefined : JSON.stringify(e.metadata),
        payload: e.payload,
      })),
    );
    const bad = Buffer.from(frames);
    bad.writeUInt32LE(99, 8 + 26); // op 99 (after u64, i64 and "c1") under a recomputed CRC: a malformed body
    bad.writeUInt32LE(crc32c(bad.subarray(8, 8 + bad.readUInt32LE(0))), 4);
    for (const bytes of [frames, frames.subarray(0, frames.length - 3), bad, Buffer.alloc(0)]) {
      const decoded = decodeFrames(bytes);
      const scanned = scanFrames(bytes);
      expect(scanned).toEqual({
        records: decoded.records.length,
        lastSequence: decoded.records.at(-1)?.sequence,
        validBytes: decoded.validBytes,
        headerBytes: 0,
        failure: decoded.failure,
      });
    }
    expect(scanFrames(bad).failure).toEqual({ offset: 0, reason: "malformed" });
    expect(scanFrames(frames).lastSequence).toBe(6);
  });

  it("decodes the hex example and stops at a torn frame or a wrong CRC32C", () => {
    const frame = Buffer.from(GOLDEN_FRAME, "hex");
    const ok = decodeFrames(Buffer.concat([frame, frame]));
    expect(ok.records.map((r) => r.id)).toEqual(["v1", "v1"]);
    expect(ok.failure).toBeUndefined();
    const torn = decodeFrames(Buffer.concat([frame, frame.subarray(0, 40)]));
    expect(torn.records).toHaveLength(1);
    expect(torn.failure).toEqual({ offset: frame.length, reason: "torn" });
    const flipped = Buffer.from(frame);
    flipped[60] = (flipped[60] as number) ^ 1;
    expect(decodeFrames(flipped).failure).toEqual({ offset: 0, reason: "checksum" });
    expect(decodeFrames(Buffer.alloc(64)).failure).toEqual({ offset: 0, reason: "malformed" }); // zero-filled tail
  });
});

describe(".avro segments", () => {
  const local = useBackend("local");

  it("are Avro object container files that avsc's own file decoder reads, block by block", async () => {
    const roots = await local.roots("wal", 1);
    const url = roots.urls[0] as string;
    const dir = roots.localPath(url);
    const service = new AssignmentService({ components: { wal: { roots: roots.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: roots.openFileSystem,
      encoding: "avro",
    });
    await wal.append("orders", entries(0, 3));
    await wal.append("orders", entries(3, 4));
    await wal.close();

    const [segment] = (await readdir(join(dir, "orders"))).filter((f) => f.endsWith(".avro"));
    expect(segment).toBe("wal-00000000000000000001.avro");
    const path = join(dir, "orders", segment as string);
    const read = (decoder: NodeJS.ReadableStream) =>
      new Promise<{ schema: unknown; records: Record<string, unknown>[] }>((resolve, reject) => {
        const records: Record<string, unknown>[] = [];
        let schema: unknown;
        decoder
          .on("metadata", (type: avro.Type) => {
            schema = type.schema();
          })
          .on("data", (r: Record<string, unknown>) => records.push(r))
          .on("end", () => resolve({ schema, records }))
          .on("error", reject);
      });
    const fromFile = await read(avro.createFileDecoder(path));
    expect((fromFile.schema as { name: string }).name).toBe("proximadb.wal.WalRecord");
    expect(fromFile.records.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(fromFile.records[0]).toMatchObject({
      collection: "orders",
      op: "put",
      id: "v0",
      vector: [0, 0.5, -0],
      metadata: '{"i":0,"tag":"t0","nested":[true,null]}',
    });
    expect(fromFile.records[4]).toMatchObject({
      op: "delete",
      id: "v4",
      vector: null,
      metadata: null,
      payload: null,
    });

    // The same through a BlockDecoder fed from the raw bytes.
    const bytes = await roots.openFileSystem(url).read(`orders/${segment}`);
    const decoder = new avro.streams.BlockDecoder();
    Readable.from([Buffer.from(bytes)]).pipe(decoder);
    expect((await read(decoder)).records).toEqual(fromFile.records);
  });
});
