import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClosedError, DataCorruptionError, InvalidArgumentError, parseStorageUrl } from "@proximadb/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type IndexEngine,
  type IndexError,
  type IndexRecord,
  distance,
  indexFileName,
  isIndexError,
} from "../src/index.js";
import {
  type RootsFixture,
  exactNearest,
  keysOf,
  memoryRoots,
  openIndex,
  recordsOf,
  rng,
  vectors,
} from "./helpers.js";

const DIM = 16;

function expectIndexError(kind: string) {
  return (err: unknown) => {
    expect(isIndexError(err), String(err)).toBe(true);
    expect((err as IndexError).kind).toBe(kind);
    return true;
  };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

describe("the index engine on memfs", () => {
  let fixture: RootsFixture;
  let index: IndexEngine;
  const records = recordsOf(vectors("clustered", 500, DIM, 11), DIM);
  const queries = vectors("clustered", 20, DIM, 12);
  const query = (q: number) => queries.subarray(q * DIM, (q + 1) * DIM);

  beforeEach(async () => {
    fixture = memoryRoots(2);
    index = await openIndex(fixture);
  });
  afterEach(async () => {
    await index.close({ flush: false });
  });

  it("finds a record by its own vector first, with score 0 under l2", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records);
    const hits = await index.search("c", records[42]?.vector as Float32Array, { k: 3 });
    expect(hits[0]?.id).toBe("r42");
    expect(hits[0]?.score).toBeCloseTo(0, 5);
  });

  it("returns the exact nearest neighbours on a small collection, closest first, scores as distance()", async () => {
    await index.create("c", { dimension: DIM, metric: "cosine" });
    await index.add("c", records);
    for (let q = 0; q < 5; q++) {
      const hits = await index.search("c", query(q), { k: 10 });
      expect(hits.map((h) => h.id)).toEqual(exactNearest("cosine", records, query(q), 10));
      for (const h of hits) {
        const r = records.find((x) => x.id === h.id) as IndexRecord;
        expect(h.score).toBeCloseTo(distance("cosine", r.vector, Array.from(query(q))), 4);
      }
      const scores = hits.map((h) => h.score);
      expect(scores).toEqual([...scores].sort((a, b) => a - b));
    }
  });

  it("replaces a record added again under the same id (upsert), leaving one tombstone", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records.slice(0, 100));
    const moved = records[200]?.vector as Float32Array;
    await index.add("c", [{ id: "r7", vector: moved }]);
    const hits = await index.search("c", moved, { k: 2 });
    expect(hits[0]).toEqual({ id: "r7", score: expect.closeTo(0, 5) });
    const old = await index.search("c", records[7]?.vector as Float32Array, { k: 100 });
    expect(old.filter((h) => h.id === "r7")).toHaveLength(1);
    expect((await index.stats("c")).count).toBe(100);
    expect((await index.stats("c")).tombstones).toBe(1);
  });

  it("keeps the last of several records with one id in a batch", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    const a = records[1]?.vector as Float32Array;
    const b = records[2]?.vector as Float32Array;
    await index.add("c", [
      { id: "x", vector: a },
      { id: "x", vector: b },
    ]);
    expect(await index.search("c", b, { k: 1 })).toEqual([{ id: "x", score: expect.closeTo(0, 5) }]);
    expect((await index.stats("c")).count).toBe(1);
  });

  it("never returns a deleted record, even when most of the collection is deleted", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records);
    const deleted = new Set(records.filter((_, i) => i % 10 !== 0).map((r) => r.id));
    expect(await index.delete("c", [...deleted, "never-there"])).toBe(deleted.size);
    for (let q = 0; q < 20; q++) {
      const hits = await index.search("c", query(q), { k: 20 });
      expect(hits).toHaveLength(20);
      expect(hits.filter((h) => deleted.has(h.id))).toEqual([]);
    }
    for (const id of [...deleted].slice(0, 20)) {
      const r = records.find((x) => x.id === id) as IndexRecord;
      expect((await index.search("c", r.vector, { k: 5 })).map((h) => h.id)).not.toContain(id);
      expect(await index.has("c", id)).toBe(false);
    }
  });

  it("answers k larger than the collection with every live record", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records.slice(0, 5));
    await index.delete("c", ["r0"]);
    expect((await index.search("c", query(0), { k: 50 })).map((h) => h.id).sort()).toEqual([
      "r1",
      "r2",
      "r3",
      "r4",
    ]);
  });

  it("gives the same answers after flush and a restart, and the stats survive", async () => {
    await index.create("c", { dimension: DIM, metric: "cosine", m: 8, efConstruction: 64, efSearch: 50 });
    await index.add("c", records, { sequence: 41 });
    await index.delete("c", ["r1", "r2"], { sequence: 42 });
    const before = [];
    for (let q = 0; q < 20; q++) before.push(await index.search("c", query(q), { k: 10 }));
    const saved = await index.flush("c");
    expect(saved.saved).toBe(true);
    const stats = await index.stats("c");
    await index.close();
    index = await openIndex(fixture);
    expect(await index.stats("c")).toEqual(stats);
    expect(stats).toMatchObject({ count: 498, tombstones: 2, sequence: 42, savedSequence: 42, dirty: false });
    expect(stats.settings).toEqual({
      dimension: DIM,
      metric: "cosine",
      m: 8,
      efConstruction: 64,
      efSearch: 50,
    });
    for (let q = 0; q < 20; q++) expect(await index.search("c", query(q), { k: 10 })).toEqual(before[q]);
  });

  it("saves unsaved changes at close, and not with flush: false", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records.slice(0, 10));
    await index.close();
    index = await openIndex(fixture);
    expect((await index.stats("c")).count).toBe(10);
    await index.add("c", records.slice(10, 20));
    await index.close({ flush: false });
    index = await openIndex(fixture);
    expect((await index.stats("c")).count).toBe(10);
  });

  /** Collection `c` of `metric` holding every record, the first `deleted` of them deleted since. */
  async function withTombstones(metric: "l2" | "cosine", deleted: number): Promise<void> {
    await index.create("c", { dimension: DIM, metric });
    await index.add("c", records);
    await index.delete(
      "c",
      records.slice(0, deleted).map((r) => r.id),
    );
  }

  it("compacts: tombstones are dropped, answers stay, a new generation is live", async () => {
    await withTombstones("l2", 100);
    await index.add("c", [{ id: "r300", vector: records[0]?.vector as Float32Array }]);
    await index.flush("c");
    const generation = (await index.stats("c")).generation;
    const result = await index.compact("c");
    expect(result).toMatchObject({ compacted: true, removed: 101, count: 400 });
    expect(result.generation).toBeGreaterThan(generation);
    expect(await index.stats("c")).toMatchObject({ count: 400, tombstones: 0, dirty: false });
    const live = records
      .slice(100)
      .map((r) => (r.id === "r300" ? { id: "r300", vector: records[0]?.vector as Float32Array } : r));
    for (let q = 0; q < 10; q++) {
      expect((await index.search("c", query(q), { k: 10 })).map((h) => h.id)).toEqual(
        exactNearest("l2", live, query(q), 10),
      );
    }
    expect(await index.compact("c")).toMatchObject({ compacted: false, removed: 0 });
  });

  it("compacts a cosine collection to the same answers", async () => {
    await withTombstones("cosine", 50);
    const before = await index.search("c", query(3), { k: 10 });
    await index.compact("c");
    const after = await index.search("c", query(3), { k: 10 });
    expect(after.map((h) => h.id)).toEqual(before.map((h) => h.id));
    for (const [i, h] of after.entries()) expect(h.score).toBeCloseTo(before[i]?.score as number, 5);
  });

  it("rebuilds from a source, replacing what was indexed", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records.slice(0, 50));
    async function* source() {
      yield* records.slice(100, 300);
    }
    const stats = await index.rebuild("c", source(), { sequence: 9 });
    expect(stats).toMatchObject({ count: 200, tombstones: 0, sequence: 9, dirty: false });
    expect(await index.has("c", "r0")).toBe(false);
    expect(await index.has("c", "r150")).toBe(true);
  });

  it("rebuilds a collection without an index when given settings", async () => {
    expect(await rejection(index.rebuild("fresh", records.slice(0, 5)))).toSatisfy(
      expectIndexError("NotFound"),
    );
    const stats = await index.rebuild("fresh", records.slice(0, 5), {
      settings: { dimension: DIM, metric: "ip" },
    });
    expect(stats).toMatchObject({ count: 5, settings: { metric: "ip", dimension: DIM } });
  });

  it("leaves the old index when a rebuild's source holds a bad record", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    await index.add("c", records.slice(0, 50));
    await index.flush("c");
    const keys = await keysOf(index.locate("c")?.fs as never, "c/");
    const bad = [...records.slice(100, 110), { id: "bad", vector: [1, 2, 3] }];
    expect(await rejection(index.rebuild("c", bad))).toSatisfy(expectIndexError("DimensionMismatch"));
    expect(await index.has("c", "r0")).toBe(true);
    expect(await index.has("c", "r100")).toBe(false);
    expect(await keysOf(index.locate("c")?.fs as never, "c/")).toEqual(keys);
  });

  describe("bad input: a typed error and nothing changed", () => {
    beforeEach(async () => {
      await index.create("c", { dimension: DIM, metric: "cosine" });
      await index.add("c", records.slice(0, 10));
    });

    it("a vector of the wrong dimension in a batch is DimensionMismatch, and no record of the batch is added", async () => {
      const batch = [...records.slice(10, 20), { id: "short", vector: [1, 2] }];
      expect(await rejection(index.add("c", batch))).toSatisfy(expectIndexError("DimensionMismatch"));
      expect((await index.stats("c")).count).toBe(10);
      expect(await index.has("c", "r10")).toBe(false);
    });

    it("a query of the wrong dimension is DimensionMismatch (code INVALID_ARGUMENT)", async () => {
      const err = await rejection(index.search("c", [1, 2, 3], { k: 1 }));
      expect(err).toSatisfy(expectIndexError("DimensionMismatch"));
      expect((err as IndexError).code).toBe("INVALID_ARGUMENT");
    });

    it("NaN components, zero vectors under cosine and empty ids are InvalidRecord", async () => {
      const nan = Array.from({ length: DIM }, (_, i) => (i === 3 ? Number.NaN : 1));
      expect(await rejection(index.add("c", [{ id: "n", vector: nan }]))).toSatisfy(
        expectIndexError("InvalidRecord"),
      );
      const zero = new Float32Array(DIM);
      expect(await rejection(index.add("c", [{ id: "z", vector: zero }]))).toSatisfy(
        expectIndexError("InvalidRecord"),
      );
      expect(await rejection(index.search("c", zero, { k: 1 }))).toSatisfy(expectIndexError("InvalidRecord"));
      const v = records[0]?.vector as Float32Array;
      expect(await rejection(index.add("c", [{ id: "", vector: v }]))).toSatisfy(
        expectIndexError("InvalidRecord"),
      );
      expect(await rejection(index.add("c", [{ id: "s", vector: "abc" as never }]))).toSatisfy(
        expectIndexError("InvalidRecord"),
      );
      expect((await index.stats("c")).count).toBe(10);
    });

    it("k and ef out of range are InvalidArgumentError", async () => {
      const v = records[0]?.vector as Float32Array;
      for (const options of [{ k: 0 }, { k: 1.5 }, { k: 5000 }, { k: 3, ef: 0 }, { k: 3, ef: 10_000 }]) {
        expect(await rejection(index.search("c", v, options))).toBeInstanceOf(InvalidArgumentError);
      }
    });

    it("settings out of range are InvalidArgumentError, at create and at open", async () => {
      for (const options of [
        { dimension: 0 },
        { dimension: 70_000 },
        { dimension: 4, metric: "manhattan" as never },
        { dimension: 4, m: 1 },
        { dimension: 4, m: 16, efConstruction: 8 },
        { dimension: 4, efSearch: 0 },
      ]) {
        expect(await rejection(index.create("other", options))).toBeInstanceOf(InvalidArgumentError);
      }
      expect(index.locate("other")).toBeUndefined();
      expect(await rejection(openIndex(fixture, { defaults: { m: 1000 } }))).toBeInstanceOf(
        InvalidArgumentError,
      );
    });

    it("an unknown collection is NotFound for every operation", async () => {
      const v = records[0]?.vector as Float32Array;
      for (const p of [
        index.search("nope", v, { k: 1 }),
        index.add("nope", records.slice(0, 1)),
        index.delete("nope", ["r0"]),
        index.stats("nope"),
        index.flush("nope"),
        index.compact("nope"),
        index.has("nope", "r0"),
      ]) {
        expect(await rejection(p)).toSatisfy(expectIndexError("NotFound"));
      }
      expect(index.locate("nope")).toBeUndefined();
    });

    it("create again: the same dimension and metric is a no-op, others are AlreadyExists", async () => {
      expect(await index.create("c", { dimension: DIM, metric: "cosine" })).toMatchObject({ dimension: DIM });
      expect((await index.stats("c")).count).toBe(10);
      expect(await rejection(index.create("c", { dimension: DIM + 1, metric: "cosine" }))).toSatisfy(
        expectIndexError("AlreadyExists"),
      );
      expect(await rejection(index.create("c", { dimension: DIM, metric: "l2" }))).toSatisfy(
        expectIndexError("AlreadyExists"),
      );
      expect(await rejection(index.create("c", { dimension: DIM, m: 5 }))).toSatisfy(
        expectIndexError("AlreadyExists"),
      );
    });

    it("every operation after close is ClosedError", async () => {
      await index.close();
      const v = records[0]?.vector as Float32Array;
      expect(() => index.collections()).toThrow(ClosedError);
      expect(() => index.locate("c")).toThrow(ClosedError);
      for (const p of [
        index.search("c", v, { k: 1 }),
        index.add("c", records.slice(0, 1)),
        index.delete("c", ["r0"]),
        index.create("d", { dimension: 3 }),
        index.stats("c"),
        index.flush("c"),
        index.compact("c"),
        index.rebuild("c", []),
        index.place("c"),
        index.drop("c"),
      ]) {
        expect(await rejection(p)).toBeInstanceOf(ClosedError);
      }
    });
  });

  describe("files", () => {
    it("live in the collection's directory of its one index root, as one generation-named pair", async () => {
      await index.create("c", { dimension: DIM });
      await index.add("c", records);
      await index.flush("c");
      const location = index.locate("c");
      expect(location).toBeDefined();
      const generation = (await index.stats("c")).generation;
      expect(await keysOf(location?.fs as never, "c/")).toEqual([
        `c/${indexFileName(generation, "hnsw")}`,
        `c/${indexFileName(generation, "idx")}`,
      ]);
      for (const url of fixture.urls) {
        const fs = fixture.openFileSystem(parseStorageUrl(url));
        // Reserved top-level names (the root marker, writer heartbeats under `_writers/`) are not index files.
        const keys = (await keysOf(fs)).filter((k) => !k.startsWith("_"));
        expect(keys).toEqual(url === location?.url ? keys.filter((k) => k.startsWith("c/")) : []);
      }
    });

    it("are found by discovery on reopen: the collection keeps its root", async () => {
      for (const c of ["a", "b", "c"]) await index.create(c, { dimension: DIM });
      const placed = Object.fromEntries(["a", "b", "c"].map((c) => [c, index.locate(c)?.url]));
      await index.close();
      index = await openIndex(fixture);
      expect(index.collections().sort()).toEqual(["a", "b", "c"]);
      expect(Object.keys(index.report.collections).sort()).toEqual(["a", "b", "c"]);
      for (const c of ["a", "b", "c"]) expect(index.locate(c)?.url).toBe(placed[c]);
      expect(index.component).toBe("index");
    });

    it("ignores a .hnsw whose .idx never landed and removes it at the next save", async () => {
      await index.create("c", { dimension: DIM, metric: "l2" });
      await index.add("c", records.slice(0, 20));
      const { generation } = await index.flush("c");
      const fs = index.locate("c")?.fs;
      const orphan = `c/${indexFileName(generation + 1, "hnsw")}`;
      await fs?.write(orphan, "half a graph");
      await index.close();
      index = await openIndex(fixture);
      expect((await index.stats("c")).generation).toBe(generation);
      expect((await index.stats("c")).count).toBe(20);
      await index.add("c", records.slice(20, 30));
      const saved = await index.flush("c");
      expect(saved.generation).toBe(generation + 2);
      // The engine closed the old file system with itself: list through the reopened engine's.
      expect(await keysOf(index.locate("c")?.fs as never, "c/")).toEqual([saved.hnswKey, saved.idxKey]);
    });

    it("a damaged .idx is DataCorruptionError naming the file", async () => {
      await index.create("c", { dimension: DIM });
      const { idxKey } = await index.flush("c");
      const fs = index.locate("c")?.fs;
      const bytes = (await fs?.read(idxKey)) as Uint8Array;
      bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 0xff;
      await fs?.write(idxKey, bytes);
      await index.close();
      index = await openIndex(fixture);
      const err = await rejection(index.stats("c"));
      expect(err).toBeInstanceOf(DataCorruptionError);
      expect((err as DataCorruptionError).key).toBe(idxKey);
    });

    it("a damaged .hnsw is DataCorruptionError naming the file (checked before the library reads it)", async () => {
      await index.create("c", { dimension: DIM });
      await index.add("c", records.slice(0, 50));
      const { hnswKey } = await index.flush("c");
      const fs = index.locate("c")?.fs;
      const bytes = (await fs?.read(hnswKey)) as Uint8Array;
      bytes[100] = (bytes[100] as number) ^ 0x55;
      await fs?.write(hnswKey, bytes);
      await index.close();
      index = await openIndex(fixture);
      const err = await rejection(index.search("c", records[0]?.vector as Float32Array, { k: 1 }));
      expect(err).toBeInstanceOf(DataCorruptionError);
      expect((err as DataCorruptionError).key).toBe(hnswKey);
    });

    it("drop deletes every file of the collection and forgets it", async () => {
      await index.create("c", { dimension: DIM });
      await index.flush("c");
      const fs = index.locate("c")?.fs;
      await index.drop("c");
      expect(index.locate("c")).toBeUndefined();
      expect(await keysOf(fs as never, "c/")).toEqual([]);
      expect(await rejection(index.stats("c"))).toSatisfy(expectIndexError("NotFound"));
    });

    it("goes through a private local temporary folder that is empty between calls and removed at close", async () => {
      const tmpDir = await mkdtemp(join(tmpdir(), "index-tmp-"));
      try {
        await index.close();
        index = await openIndex(fixture, { tmpDir });
        await index.create("c", { dimension: DIM });
        await index.add("c", records);
        await index.flush("c");
        const [own] = await readdir(tmpDir);
        expect(own).toMatch(/^proximadb-index-/);
        expect(await readdir(join(tmpDir, own as string))).toEqual([]);
        await index.close();
        index = await openIndex(fixture, { tmpDir });
        expect((await index.stats("c")).count).toBe(500);
        await index.close();
        expect(await readdir(tmpDir)).toEqual([]);
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    });

    it("removes this node's stale staging at open", async () => {
      await index.create("c", { dimension: DIM });
      const fs = index.locate("c")?.fs;
      // This node's own staging layout: `<id>/_staging/<nodeId>/<10-digit base-36 sequence>-<name>`.
      await fs?.write("c/_staging/node-a/0000000009-index-0000000000000009.hnsw", "left by a crash");
      await index.close();
      index = await openIndex(fixture);
      const reopened = index.locate("c")?.fs;
      expect((await keysOf(reopened as never, "c/")).filter((k) => k.includes("_staging"))).toEqual([]);
    });
  });

  it("serialises concurrent changes of one collection and searches during them see whole records", async () => {
    await index.create("c", { dimension: DIM, metric: "l2" });
    const next = rng(5);
    const batches = Array.from({ length: 5 }, (_, b) => records.slice(b * 100, (b + 1) * 100));
    const searches: Promise<unknown>[] = [];
    const writes = batches.map((batch, b) => {
      const w = b % 2 === 0 ? index.add("c", batch) : index.add("c", batch).then(() => index.flush("c"));
      searches.push(index.search("c", query(Math.floor(next() * 20)), { k: 5 }).catch(() => []));
      return w;
    });
    await Promise.all([...writes, ...searches]);
    expect((await index.stats("c")).count).toBe(500);
    await index.flush("c");
    await index.close();
    index = await openIndex(fixture);
    expect((await index.stats("c")).count).toBe(500);
  });
});
