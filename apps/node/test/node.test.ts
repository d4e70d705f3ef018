import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunResult, type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

const DIM = 8;
const COLLECTIONS = 20;
const RECORDS = 10_000;
const PER_COLLECTION = RECORDS / COLLECTIONS;
const BATCH = 50;

/** Deterministic vector of a record (exact in float32). */
function vectorOf(collection: number, record: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.fround(collection * 1000 + record + i / 8));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

type Response = Awaited<ReturnType<RunningNode["request"]>>;
type Placements = Record<string, { url: string; index: number }>;

describe("the storage node binary (zero-config, kill -9, restart)", () => {
  const cwd = tempDir();
  const running: RunningNode[] = [];
  const ids = Array.from({ length: COLLECTIONS }, (_, c) => `col-${String(c).padStart(2, "0")}`);
  const engineOf = (c: number) => (c % 2 === 0 ? "viper" : "lsm");

  /** What the scenario saw, step by step; each `it` below checks one property of it. */
  const seen = {
    health: undefined as unknown as Response,
    creations: [] as { id: string; engine: string; res: Response }[],
    writes: [] as Response[],
    flushes: [] as Response[],
    deletes: [] as Response[],
    deleted: new Set<string>(),
    deletedBeforeKill: undefined as unknown as Response,
    killedBy: undefined as unknown,
    listed: undefined as unknown as Response,
    wrongAfterRestart: [] as string[],
    metrics: undefined as unknown as Response,
    stopCode: undefined as unknown,
    discover: undefined as unknown as RunResult,
  };
  const placementsOf = (id: string): Placements | undefined =>
    seen.creations.find((c) => c.id === id)?.res.json.placements;

  // 20 collections of both engines; half of each collection's records, then a flush of every collection
  // (WAL → engine + checkpoint), then the other half, which stays in the WAL and memory only; deletes of
  // flushed and of unflushed records; kill -9; restart; every record read back; `discover --json`.
  beforeAll(async () => {
    const node = await startNode(cwd);
    running.push(node);
    seen.health = await node.request("GET", "/healthz");
    for (const [c, id] of ids.entries()) {
      const res = await node.request("POST", "/collections", { id, engine: engineOf(c), dimension: DIM });
      seen.creations.push({ id, engine: engineOf(c), res });
    }
    const batches = (from: number, to: number) =>
      ids.flatMap((id, c) =>
        Array.from({ length: (to - from) / BATCH }, (_, b) => ({
          id,
          records: Array.from({ length: BATCH }, (_, k) => {
            const r = from + b * BATCH + k;
            return { id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } };
          }),
        })),
      );
    const write = async (list: ReturnType<typeof batches>) =>
      seen.writes.push(
        ...(await mapLimit(list, 16, (b) =>
          node.request("POST", `/collections/${b.id}/records`, { records: b.records }),
        )),
      );
    await write(batches(0, PER_COLLECTION / 2));
    for (const id of ids) seen.flushes.push(await node.request("POST", `/collections/${id}/flush`));
    await write(batches(PER_COLLECTION / 2, PER_COLLECTION));
    for (const id of ids) {
      for (const r of [3, PER_COLLECTION - 3]) {
        seen.deletes.push(await node.request("DELETE", `/collections/${id}/records/r${r}`));
        seen.deleted.add(`${id}/r${r}`);
      }
    }
    seen.deletedBeforeKill = await node.request("GET", `/collections/${ids[0]}/records/r3`);

    node.child.kill("SIGKILL");
    seen.killedBy = await node.exited;

    const again = await startNode(cwd);
    running.push(again);
    seen.listed = await again.request("GET", "/collections");
    const keys = ids.flatMap((id, c) => Array.from({ length: PER_COLLECTION }, (_, r) => ({ id, c, r })));
    await mapLimit(keys, 16, async ({ id, c, r }) => {
      const res = await again.request("GET", `/collections/${id}/records/r${r}`);
      if (seen.deleted.has(`${id}/r${r}`)) {
        if (res.status !== 404) seen.wrongAfterRestart.push(`${id}/r${r}: deleted but ${res.status}`);
        return;
      }
      if (res.status !== 200) seen.wrongAfterRestart.push(`${id}/r${r}: ${res.status}`);
      else if (
        JSON.stringify(res.json) !==
        JSON.stringify({ id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } })
      )
        seen.wrongAfterRestart.push(`${id}/r${r}: ${res.text}`);
    });
    seen.metrics = await again.request("GET", "/metrics");
    seen.stopCode = await again.stop("SIGTERM");
    seen.discover = await runCli(["discover", "--json"], { cwd });
  }, 180_000);

  afterAll(async () => {
    for (const n of running) if (n.child.exitCode === null) n.child.kill("SIGKILL");
  });

  it("answers /healthz with status ok", () => {
    expect(seen.health.json).toMatchObject({ status: "ok" });
  });

  it("creates each of the 20 collections with 201", () => {
    expect(seen.creations).toHaveLength(COLLECTIONS);
    for (const { res } of seen.creations) expect(res.status, res.text).toBe(201);
  });

  it("answers each creation with the collection's id, engine and dimension", () => {
    for (const { id, engine, res } of seen.creations)
      expect(res.json).toMatchObject({ id, engine, dimension: DIM });
  });

  it("places exactly the WAL and the collection's engine", () => {
    for (const { engine, res } of seen.creations)
      expect(Object.keys(res.json.placements).sort()).toEqual([engine, "wal"].sort());
  });

  it("spreads 20 WALs round-robin over the three WAL roots (7, 7, 6)", () => {
    const walRoots = seen.creations.map((c) => c.res.json.placements.wal?.index);
    expect([0, 1, 2].map((i) => walRoots.filter((x) => x === i).length)).toEqual([7, 7, 6]);
  });

  it("acknowledges every batch with 200 and accepted: 50", () => {
    expect(seen.writes).toHaveLength(RECORDS / BATCH);
    for (const res of seen.writes) expect(res.json).toEqual({ accepted: BATCH });
    expect(seen.writes.every((res) => res.status === 200)).toBe(true);
  });

  it("flushes each collection's first half (250 records) with 200", () => {
    expect(seen.flushes).toHaveLength(COLLECTIONS);
    for (const f of seen.flushes) {
      expect(f.status, f.text).toBe(200);
      expect(f.json.records).toBe(PER_COLLECTION / 2);
    }
  });

  it("deletes flushed and unflushed records with 200", () => {
    expect(seen.deletes).toHaveLength(2 * COLLECTIONS);
    for (const d of seen.deletes) expect(d.status).toBe(200);
  });

  it("answers 404 for a deleted record before the crash", () => {
    expect(seen.deletedBeforeKill.status).toBe(404);
  });

  it("dies by SIGKILL (no shutdown code runs)", () => {
    expect(seen.killedBy).toBe("SIGKILL");
  });

  it("lists every collection after the restart, in id order", () => {
    expect(seen.listed.json.collections.map((c: { id: string }) => c.id)).toEqual(ids);
  });

  it("keeps every placement across the restart", () => {
    for (const c of seen.listed.json.collections) expect(c.placements).toEqual(placementsOf(c.id));
  });

  it("reads back every acknowledged record exactly, and every deleted record as 404", () => {
    expect(seen.wrongAfterRestart).toEqual([]);
  });

  it("exports assignment, discovery and WAL sync metrics", () => {
    expect(seen.metrics.text).toContain("proximadb_assignments{");
    expect(seen.metrics.text).toContain("proximadb_discovery_duration_seconds");
    expect(seen.metrics.text).toContain("proximadb_wal_sync_seconds");
  });

  it("exits 0 on SIGTERM", () => {
    expect(seen.stopCode).toBe(0);
  });

  it("discover --json, run after the restart, exits 0", () => {
    expect(seen.discover.code, seen.discover.stderr).toBe(0);
  });

  it("discover --json reports every component of every collection where creation placed it", () => {
    const report = JSON.parse(seen.discover.stdout);
    for (const { id } of seen.creations) {
      for (const [component, placement] of Object.entries(placementsOf(id) ?? {})) {
        const found = report.components[component].collections[id];
        expect(found, `${component} of ${id}`).toBeDefined();
        expect({ url: found.url, index: found.index }).toEqual(placement);
      }
    }
  });

  it("discover --json reports every collection's metadata", () => {
    const report = JSON.parse(seen.discover.stdout);
    for (const { id } of seen.creations) expect(report.components.metadata.collections[id]).toBeDefined();
  });
});

describe("README quick start: `proximadb serve` with no config in an empty folder", () => {
  const cwd = tempDir();
  let node: RunningNode;
  let health: Response;
  let stopCode: unknown;
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");

  beforeAll(async () => {
    node = await startNode(cwd);
    try {
      health = await node.request("GET", "/healthz");
    } finally {
      stopCode = await node.stop("SIGTERM");
    }
  });
  afterAll(() => {
    if (node?.child.exitCode === null) node.child.kill("SIGKILL");
  });

  it("is the command the README shows, with its curl", () => {
    expect(readme).toContain("node apps/node/dist/cli.js serve");
    expect(readme).toContain("curl -s http://127.0.0.1:7070/healthz");
  });

  it("serves /healthz with 200 and no collections", () => {
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: "ok", collections: 0 });
  });

  it("initialises a marked root for every component", () => {
    for (const c of ["wal", "viper", "lsm", "index", "metadata"])
      expect(existsSync(join(cwd, "data", "disk1", c, "_proximadb_root.json"))).toBe(true);
  });

  it("exits 0 on SIGTERM", () => {
    expect(stopCode).toBe(0);
  });
});
