/**
 * Search through the node (the built binary, local roots): records acknowledged a moment ago, flushed and
 * indexed records, deletes, metrics, the index files in the collection's index root, and a kill -9 during
 * an index build.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it, vi } from "vitest";
import { seededRandom as random } from "@proximadb/testing/random";
import { type RunningNode, runCli, startNode, tempDir } from "./helpers.js";
import { cosine, must } from "./search-support.js";

const running: RunningNode[] = [];
afterAll(async () => {
  for (const n of running)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill("SIGKILL");
});

async function start(dir: string): Promise<RunningNode> {
  const n = await startNode(dir);
  running.push(n);
  return n;
}

/** Waits until the collection's index is ready and holds every flushed record. */
async function indexed(n: RunningNode, id: string) {
  let index: Record<string, unknown> = {};
  await vi.waitFor(
    async () => {
      index = (await must(n, "GET", `/collections/${id}`)).index;
      expect(index).toMatchObject({ state: "ready", lag: 0 });
    },
    { timeout: 60_000, interval: 50 },
  );
  return index;
}

for (const engine of ["viper", "lsm"] as const) {
  describe(`search of a ${engine} collection (binary, local roots)`, () => {
    const dir = tempDir("proximadb-search-");
    let n: RunningNode;
    const id = `s-${engine}`;

    it("finds a record acknowledged a moment ago, before any flush, with its metadata", async () => {
      n = await start(dir);
      await must(n, "POST", "/collections", { id, engine, dimension: 3 }, 201);
      await must(n, "POST", `/collections/${id}/records`, {
        records: [
          { id: "x", vector: [1, 0, 0], metadata: { axis: "x" } },
          { id: "y", vector: [0, 1, 0] },
        ],
      });
      const r = await must(n, "POST", `/collections/${id}/search`, { vector: [0.9, 0.1, 0], k: 1 });
      expect(r.results).toEqual([{ id: "x", score: expect.any(Number), metadata: { axis: "x" } }]);
    });

    it("finds flushed records through the index (not the exact path), scored as 1 − cos", async () => {
      await must(n, "POST", `/collections/${id}/flush`);
      await indexed(n, id);
      const r = await must(n, "POST", `/collections/${id}/search`, { vector: [0, 2, 0], k: 2 });
      expect(r.exact).toBe(false);
      expect(r.results.map((h: { id: string }) => h.id)).toEqual(["y", "x"]);
      expect(r.results[1].score).toBeCloseTo(1, 6);
    });

    it("never returns a deleted record: unflushed, flushed, or after compaction", async () => {
      await must(n, "DELETE", `/collections/${id}/records/x`);
      const ask = () => must(n, "POST", `/collections/${id}/search`, { vector: [1, 0, 0], k: 10 });
      const ids = (r: { results: { id: string }[] }) => r.results.map((h) => h.id);
      expect(ids(await ask())).toEqual(["y"]);
      await must(n, "POST", `/collections/${id}/flush`);
      expect(ids(await ask())).toEqual(["y"]);
      await indexed(n, id);
      expect(ids(await ask())).toEqual(["y"]);
      await must(n, "POST", `/collections/${id}/compact`);
      await vi.waitFor(
        async () => expect((await must(n, "GET", `/collections/${id}`)).index.tombstones).toBe(0),
        { timeout: 30_000, interval: 50 },
      );
      expect(ids(await ask())).toEqual(["y"]);
    });

    it("keeps the index files in the collection's index root", async () => {
      const view = await must(n, "GET", `/collections/${id}`);
      expect(view.storage.index.files).toBeGreaterThanOrEqual(2);
      const files = readdirSync(join(fileURLToPath(view.storage.index.url), id));
      expect(files.some((f) => f.endsWith(".hnsw"))).toBe(true);
      expect(files.some((f) => f.endsWith(".idx"))).toBe(true);
    });

    it("still finds the records after a restart (index loaded, not rebuilt)", async () => {
      await n.stop();
      n = await start(dir);
      await indexed(n, id);
      const r = await must(n, "POST", `/collections/${id}/search`, { vector: [0, 1, 0], k: 10 });
      expect(r.results.map((h: { id: string }) => h.id)).toEqual(["y"]);
      expect(n.logs.some((l) => l.includes("index built"))).toBe(false);
      await n.stop();
    });
  });
}

describe("the metric of a collection", () => {
  const dir = tempDir("proximadb-search-");
  let n: RunningNode;

  it("is cosine by default and stored in the definition", async () => {
    n = await start(dir);
    const created = await must(n, "POST", "/collections", { id: "c", engine: "lsm", dimension: 2 }, 201);
    expect(created.metric).toBe("cosine");
    const view = await must(n, "GET", "/collections/c");
    const def = JSON.parse(
      readFileSync(join(fileURLToPath(view.storage.metadata.url), "c", "collection.json"), "utf8"),
    );
    expect(def.metric).toBe("cosine");
  });

  it("ranks by Euclidean distance under l2 (unflushed and indexed alike)", async () => {
    await must(n, "POST", "/collections", { id: "e", engine: "viper", dimension: 2, metric: "l2" }, 201);
    await must(n, "POST", "/collections/e/records", {
      records: [
        { id: "near", vector: [3, 4] },
        { id: "far", vector: [30, 40] },
      ],
    });
    const before = await must(n, "POST", "/collections/e/search", { vector: [0, 0], k: 2 });
    await must(n, "POST", "/collections/e/flush");
    await indexed(n, "e");
    const after = await must(n, "POST", "/collections/e/search", { vector: [0, 0], k: 2 });
    for (const r of [before, after]) {
      expect(r.results.map((h: { id: string }) => h.id)).toEqual(["near", "far"]);
      expect(r.results[0].score).toBeCloseTo(5, 5);
    }
    await n.stop();
  });

  it("of a collection defined before search existed is cosine, and its index is built at start", async () => {
    n = await start(dir);
    const view = await must(n, "GET", "/collections/c");
    await must(n, "POST", "/collections/c/records", { records: [{ id: "a", vector: [1, 1] }] });
    await must(n, "POST", "/collections/c/flush");
    await n.stop();
    // An old definition (no metric) and no index files.
    const defPath = join(fileURLToPath(view.storage.metadata.url), "c", "collection.json");
    const { metric: _metric, ...old } = JSON.parse(readFileSync(defPath, "utf8"));
    writeFileSync(defPath, JSON.stringify(old));
    rmSync(join(fileURLToPath(view.storage.index.url), "c"), { recursive: true });
    n = await start(dir);
    expect((await must(n, "GET", "/collections/c")).metric).toBe("cosine");
    const index = await indexed(n, "c");
    expect(index.count).toBe(1);
    const r = await must(n, "POST", "/collections/c/search", { vector: [2, 2], k: 1 });
    expect(r).toEqual({ results: [{ id: "a", score: expect.any(Number), metadata: null }], exact: false });
    await n.stop();
  });
});

describe("after kill -9 during an index build (3,000 vectors of dimension 32)", () => {
  const dir = tempDir("proximadb-search-");
  const DIM = 32;
  const N = 3000;
  const rnd = random(17);
  const vectors = Array.from({ length: N }, () => Array.from({ length: DIM }, () => rnd() * 2 - 1));
  const deleted = new Set(Array.from({ length: 100 }, (_, i) => `r${i * 7}`));
  const live = vectors.map((v, i) => ({ id: `r${i}`, v })).filter((r) => !deleted.has(r.id));
  const queries = Array.from({ length: 30 }, () => Array.from({ length: DIM }, () => rnd() * 2 - 1));
  let n: RunningNode;
  const answers: { exact: boolean; results: { id: string }[] }[][] = [];

  it("the node restarts after being killed right after a flush", async () => {
    n = await start(dir);
    await must(n, "POST", "/collections", { id: "k", engine: "viper", dimension: DIM }, 201);
    for (let i = 0; i < N; i += 500) {
      const records = vectors.slice(i, i + 500).map((vector, j) => ({ id: `r${i + j}`, vector }));
      await must(n, "POST", "/collections/k/records", { records });
    }
    for (const rid of deleted) await must(n, "DELETE", `/collections/k/records/${rid}`);
    await must(n, "POST", "/collections/k/flush");
    // The background builder is adding the 2,900 flushed records now.
    expect(await n.stop("SIGKILL")).toBe("SIGKILL");
    n = await start(dir);
    // During the rebuild (exact path) and after it (index): every answer is consistent.
    answers.push(
      await Promise.all(queries.map((vector) => must(n, "POST", "/collections/k/search", { vector, k: 10 }))),
    );
    await indexed(n, "k");
    answers.push(
      await Promise.all(queries.map((vector) => must(n, "POST", "/collections/k/search", { vector, k: 10 }))),
    );
  });

  it("never answers with a deleted or unknown id", () => {
    const known = new Set(live.map((r) => r.id));
    const ids = answers.flat().flatMap((a) => a.results.map((h) => h.id));
    expect(ids.filter((x) => !known.has(x))).toEqual([]);
  });

  it("answers from the index once it is rebuilt, with recall@10 ≥ 0.9 against brute force", () => {
    const afterBuild = answers[1] as { exact: boolean; results: { id: string }[] }[];
    expect(afterBuild.every((a) => a.exact === false)).toBe(true);
    let hits = 0;
    queries.forEach((q, i) => {
      const truth = new Set(
        live
          .map((r) => ({ id: r.id, d: cosine(q, r.v) }))
          .sort((a, b) => a.d - b.d)
          .slice(0, 10)
          .map((r) => r.id),
      );
      hits += (afterBuild[i] as { results: { id: string }[] }).results.filter((h) => truth.has(h.id)).length;
    });
    expect(hits / (queries.length * 10)).toBeGreaterThanOrEqual(0.9);
  });

  it("lists the index collection in /stats, stats --json and discover --json", async () => {
    expect((await must(n, "GET", "/stats")).components.index.total).toBe(1);
    await n.stop();
    const stats = JSON.parse((await runCli(["stats", "--json"], { cwd: dir })).stdout);
    expect(JSON.stringify(stats)).toContain('"component":"index","collections":1');
    const r = await runCli(["discover", "--json"], { cwd: dir });
    expect(Object.keys(JSON.parse(r.stdout).components.index.collections)).toEqual(["k"]);
  });
});
