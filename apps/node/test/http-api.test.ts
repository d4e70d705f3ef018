import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeLsmValue, encodeLsmValue } from "../src/engines/lsm.js";
import { itAnswers } from "./answers.js";
import { type InProcessNode, openInProcess } from "./in-process.js";

type Answer = Awaited<ReturnType<InProcessNode["call"]>>;

describe("HTTP API (in process, local roots): POST /collections", () => {
  let n: InProcessNode;
  let created: Answer;
  let again: Answer;
  beforeAll(async () => {
    n = await openInProcess();
    created = await n.call("POST", "/collections", { id: "docs", engine: "viper", dimension: 3 });
    again = await n.call("POST", "/collections", { id: "docs", engine: "lsm", dimension: 3 });
  });
  afterAll(() => n?.close());

  it("answers 201 with the WAL and VIPER placements in local roots", () => {
    expect(created.status).toBe(201);
    expect(created.json.placements.wal.url).toMatch(/^file:\/\/.*\/wal$/);
    expect(created.json.placements.viper.url).toMatch(/^file:\/\/.*\/viper$/);
  });

  it("creates the placed roots under the data folder", () => {
    expect(existsSync(join(n.dir, "data", `disk${created.json.placements.wal.index + 1}`))).toBe(true);
  });

  it("answers 409 for an id that exists", () => {
    expect(again.status).toBe(409);
  });
});

describe("HTTP API (in process, local roots): records", () => {
  let n: InProcessNode;
  const seen = {} as Record<
    "absentCollection" | "neverWritten" | "put" | "read" | "deleted" | "afterDelete" | "tooBig",
    Answer
  >;
  beforeAll(async () => {
    n = await openInProcess((t) => t.replace("port = 7070", "port = 0\nmax_body_bytes = 65536"));
    await n.call("POST", "/collections", { id: "kv", engine: "lsm", dimension: 2 });
    seen.absentCollection = await n.call("POST", "/collections/nope/records", { records: [] });
    seen.neverWritten = await n.call("GET", "/collections/kv/records/a");
    seen.put = await n.call("POST", "/collections/kv/records", {
      records: [{ id: "a", vector: [1, 2], metadata: { k: "v" } }],
    });
    seen.read = await n.call("GET", "/collections/kv/records/a");
    seen.deleted = await n.call("DELETE", "/collections/kv/records/a");
    seen.afterDelete = await n.call("GET", "/collections/kv/records/a");
    const huge = { records: Array.from({ length: 2000 }, (_, i) => ({ id: `r${i}`, vector: [i, i] })) };
    seen.tooBig = await n.call("POST", "/collections/kv/records", huge);
  });
  afterAll(() => n?.close());

  itAnswers(seen, [
    ["answers 404 for records of an absent collection", { absentCollection: 404 }],
    ["answers 404 for a record never written", { neverWritten: 404 }],
  ]);

  it("acknowledges a put with 200 and accepted: 1", () => {
    expect(seen.put).toEqual({ status: 200, json: { accepted: 1 } });
  });

  it("reads a record back with its vector and metadata", () => {
    expect(seen.read.json).toEqual({ id: "a", vector: [1, 2], metadata: { k: "v" } });
  });

  itAnswers(seen, [
    ["deletes a record with 200; it is 404 after", { deleted: 200, afterDelete: 404 }],
    ["answers 413 for a body over max_body_bytes", { tooBig: 413 }],
  ]);
});

describe("HTTP API (in process, local roots): flush and compaction", () => {
  let n: InProcessNode;
  const puts: Answer[] = [];
  let metrics: string;
  let compact: Answer;
  let record: Answer;
  let info: Answer;
  beforeAll(async () => {
    n = await openInProcess(
      (t) =>
        `${t.replace("port = 7070", "port = 0")}\n[engine]\nflush_threshold_bytes = 4096\ncompact_file_count = 3\n`,
    );
    await n.call("POST", "/collections", { id: "docs", engine: "viper", dimension: 3 });
    for (let b = 0; b < 6; b++) {
      const records = Array.from({ length: 40 }, (_, i) => ({ id: `v${b * 40 + i}`, vector: [b, i, 1] }));
      puts.push(await n.call("POST", "/collections/docs/records", { records }));
      await n.node.flush("docs");
    }
    metrics = (await n.app.inject({ method: "GET", url: "/metrics" })).body;
    compact = await n.call("POST", "/collections/docs/compact");
    record = await n.call("GET", "/collections/docs/records/v201");
    info = await n.call("GET", "/collections/docs");
  });
  afterAll(() => n?.close());

  it("accepts every batch", () => {
    expect(puts).toHaveLength(6);
    for (const p of puts) expect(p.status).toBe(200);
  });

  it("counts the six API flushes of the VIPER collection in /metrics", () => {
    expect(metrics).toMatch(/proximadb_flushes_total\{engine="viper",trigger="api"\} 6/);
  });

  it("compacts the flushed files into one", () => {
    expect(compact.status).toBe(200);
    expect(compact.json.files).toBe(1);
  });

  it("reads a flushed record back after compaction", () => {
    expect(record.json).toEqual({ id: "v201", vector: [5, 1, 1], metadata: null });
  });

  it("GET /collections/:id counts one VIPER file, the definition and checkpoint, and the WAL", () => {
    expect(info.json.storage.viper.files).toBe(1);
    expect(info.json.storage.metadata.files).toBe(2); // collection.json + wal-checkpoint.json
    expect(info.json.storage.wal.files).toBeGreaterThanOrEqual(1);
  });
});

describe("HTTP API (in process, local roots): listing, stats and drop", () => {
  let n: InProcessNode;
  const seen = {} as Record<"listed" | "stats" | "dropped" | "afterDrop" | "recreated" | "oldRecord", Answer>;
  let walDir: string;
  beforeAll(async () => {
    n = await openInProcess();
    await n.call("POST", "/collections", { id: "docs", engine: "viper", dimension: 3 });
    await n.call("POST", "/collections", { id: "kv", engine: "lsm", dimension: 2 });
    await n.call("POST", "/collections/kv/records", { records: [{ id: "a", vector: [1, 2] }] });
    seen.listed = await n.call("GET", "/collections");
    seen.stats = await n.call("GET", "/stats");
    const placements = (await n.call("GET", "/collections/kv")).json.placements;
    walDir = join(new URL(placements.wal.url).pathname, "kv");
    seen.dropped = await n.call("DELETE", "/collections/kv");
    seen.afterDrop = await n.call("GET", "/collections/kv");
    seen.recreated = await n.call("POST", "/collections", { id: "kv", engine: "viper", dimension: 2 });
    seen.oldRecord = await n.call("GET", "/collections/kv/records/a");
  });
  afterAll(() => n?.close());

  it("GET /collections lists every collection in id order", () => {
    expect(seen.listed.json.collections.map((c: { id: string }) => c.id)).toEqual(["docs", "kv"]);
  });

  it("GET /stats counts the collections and their WAL placements", () => {
    expect(seen.stats.json.collections).toBe(2);
    expect(seen.stats.json.components.wal.total).toBe(2);
  });

  it("DELETE /collections/:id answers 200; the collection is 404 after", () => {
    expect(seen.dropped.status).toBe(200);
    expect(seen.afterDrop.status).toBe(404);
  });

  it("DELETE /collections/:id removes the collection's WAL directory", () => {
    expect(existsSync(walDir)).toBe(false);
  });

  it("creates a dropped id again (with another engine) without its old records", () => {
    expect(seen.recreated.status).toBe(201);
    expect(seen.oldRecord.status).toBe(404);
  });
});

describe("LSM record encoding", () => {
  it("key = record id, value = u32 dimension | f32 vector | metadata JSON", () => {
    const v = encodeLsmValue(new Float32Array([1.5, -2]), { a: 1 });
    expect([...v.subarray(0, 4)]).toEqual([2, 0, 0, 0]);
    expect(v.length).toBe(4 + 8 + '{"a":1}'.length);
    const back = decodeLsmValue(v);
    expect([...back.vector]).toEqual([1.5, -2]);
    expect(back.metadata).toEqual({ a: 1 });
    expect(decodeLsmValue(encodeLsmValue(new Float32Array([3]), undefined)).metadata).toBeNull();
  });
});
