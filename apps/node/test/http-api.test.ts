import { existsSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeLsmValue, encodeLsmValue } from "../src/engines/lsm.js";
import { parseConfigText, embeddedDefaultToml } from "../src/config.js";
import { createHttpServer } from "../src/http.js";
import { NodeMetrics } from "../src/metrics.js";
import { StorageNode } from "../src/node.js";
import { tempDir } from "./helpers.js";

describe("HTTP API (in process, local roots)", () => {
  const dir = tempDir();
  let node: StorageNode;
  let app: FastifyInstance;
  const call = async (method: string, url: string, payload?: unknown) => {
    const r = await app.inject({
      method: method as "GET",
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: r.statusCode, json: r.json() };
  };

  beforeAll(async () => {
    const toml = embeddedDefaultToml().replace("port = 7070", "port = 0\nmax_body_bytes = 65536");
    const config = parseConfigText(
      `${toml}\n[engine]\nflush_threshold_bytes = 4096\ncompact_file_count = 3\n`,
      { baseDir: dir, source: "test" },
    );
    const logger = pino({ level: "silent" });
    const metrics = new NodeMetrics();
    node = await StorageNode.open({ config, logger, metrics });
    app = createHttpServer(node, { logger, metrics });
  });
  afterAll(async () => {
    await app?.close();
    await node?.close();
  });

  it("POST /collections: 201 with placements, 409 when it exists, 400 for a bad id or body", async () => {
    const ok = await call("POST", "/collections", { id: "docs", engine: "viper", dimension: 3 });
    expect(ok.status).toBe(201);
    expect(ok.json.placements.wal.url).toMatch(/^file:\/\/.*\/wal$/);
    expect(ok.json.placements.viper.url).toMatch(/^file:\/\/.*\/viper$/);
    expect(existsSync(join(dir, "data", `disk${ok.json.placements.wal.index + 1}`))).toBe(true);
    expect((await call("POST", "/collections", { id: "docs", engine: "lsm", dimension: 3 })).status).toBe(
      409,
    );
    for (const body of [
      { id: "../etc", engine: "viper", dimension: 3 },
      { id: "_hidden", engine: "viper", dimension: 3 },
      { id: "ok", engine: "faiss", dimension: 3 },
      { id: "ok", engine: "lsm", dimension: 0 },
      { id: "ok", engine: "lsm", dimension: 2.5 },
      { id: "ok", engine: "lsm", dimension: 3, extra: 1 },
      [1, 2],
    ]) {
      const r = await call("POST", "/collections", body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.kind).toBe("invalid");
    }
  });

  it("records: dimension checked, 404 for absent records and collections, body size limited", async () => {
    await call("POST", "/collections", { id: "kv", engine: "lsm", dimension: 2 });
    expect(
      (await call("POST", "/collections/kv/records", { records: [{ id: "a", vector: [1, 2, 3] }] })).status,
    ).toBe(400);
    expect(
      (await call("POST", "/collections/kv/records", { records: [{ id: "a", vector: [1, "x"] }] })).status,
    ).toBe(400);
    expect(
      (await call("POST", "/collections/kv/records", { records: [{ id: "", vector: [1, 2] }] })).status,
    ).toBe(400);
    expect((await call("POST", "/collections/nope/records", { records: [] })).status).toBe(404);
    expect((await call("GET", "/collections/kv/records/a")).status).toBe(404);
    const put = await call("POST", "/collections/kv/records", {
      records: [{ id: "a", vector: [1, 2], metadata: { k: "v" } }],
    });
    expect(put).toEqual({ status: 200, json: { accepted: 1 } });
    expect((await call("GET", "/collections/kv/records/a")).json).toEqual({
      id: "a",
      vector: [1, 2],
      metadata: { k: "v" },
    });
    expect((await call("DELETE", "/collections/kv/records/a")).status).toBe(200);
    expect((await call("GET", "/collections/kv/records/a")).status).toBe(404);
    const huge = { records: Array.from({ length: 2000 }, (_, i) => ({ id: `r${i}`, vector: [i, i] })) };
    const tooBig = await call("POST", "/collections/kv/records", huge);
    expect(tooBig.status).toBe(413);
  });

  it("flush moves records into the engine, background flush and compaction follow the thresholds", async () => {
    for (let b = 0; b < 6; b++) {
      const records = Array.from({ length: 40 }, (_, i) => ({ id: `v${b * 40 + i}`, vector: [b, i, 1] }));
      expect((await call("POST", "/collections/docs/records", { records })).status).toBe(200);
      await node.flush("docs");
    }
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/proximadb_flushes_total\{engine="viper",trigger="api"\} 6/);
    const compact = await call("POST", "/collections/docs/compact");
    expect(compact.status).toBe(200);
    expect(compact.json.files).toBe(1);
    expect((await call("GET", "/collections/docs/records/v201")).json).toEqual({
      id: "v201",
      vector: [5, 1, 1],
      metadata: null,
    });
    const info = await call("GET", "/collections/docs");
    expect(info.json.storage.viper.files).toBe(1);
    expect(info.json.storage.metadata.files).toBe(2); // collection.json + wal-checkpoint.json
    expect(info.json.storage.wal.files).toBeGreaterThanOrEqual(1);
  });

  it("GET /collections, /stats; DELETE /collections/:id removes every file of the collection", async () => {
    expect((await call("GET", "/collections")).json.collections.map((c: { id: string }) => c.id)).toEqual([
      "docs",
      "kv",
    ]);
    const stats = await call("GET", "/stats");
    expect(stats.json.collections).toBe(2);
    expect(stats.json.components.wal.total).toBe(2);
    const placements = (await call("GET", "/collections/kv")).json.placements;
    expect((await call("DELETE", "/collections/kv")).status).toBe(200);
    expect((await call("GET", "/collections/kv")).status).toBe(404);
    expect(existsSync(join(new URL(placements.wal.url).pathname, "kv"))).toBe(false);
    expect((await call("POST", "/collections", { id: "kv", engine: "viper", dimension: 2 })).status).toBe(
      201,
    );
    expect((await call("GET", "/collections/kv/records/a")).status).toBe(404);
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
