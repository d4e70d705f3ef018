import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

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

describe("the storage node binary (zero-config, kill -9, restart)", () => {
  const cwd = tempDir();
  const running: RunningNode[] = [];
  afterAll(async () => {
    for (const n of running) if (n.child.exitCode === null) n.child.kill("SIGKILL");
  });

  const ids = Array.from({ length: COLLECTIONS }, (_, c) => `col-${String(c).padStart(2, "0")}`);
  const engineOf = (c: number) => (c % 2 === 0 ? "viper" : "lsm");
  const created = new Map<string, { placements: Record<string, { url: string; index: number }> }>();
  const deleted = new Set<string>();

  it("creates 20 collections of both engines, acknowledges 10,000 records, survives kill -9 with every acknowledged record", async () => {
    const node = await startNode(cwd);
    running.push(node);
    expect((await node.request("GET", "/healthz")).json).toMatchObject({ status: "ok" });

    for (const [c, id] of ids.entries()) {
      const r = await node.request("POST", "/collections", { id, engine: engineOf(c), dimension: DIM });
      expect(r.status, r.text).toBe(201);
      expect(r.json).toMatchObject({ id, engine: engineOf(c), dimension: DIM });
      expect(Object.keys(r.json.placements).sort()).toEqual([engineOf(c), "wal"].sort());
      created.set(id, r.json);
    }
    // Round-robin WAL placement spreads 20 collections evenly over the three WAL roots.
    const walRoots = [...created.values()].map((v) => v.placements.wal?.index);
    expect([0, 1, 2].map((i) => walRoots.filter((x) => x === i).length)).toEqual([7, 7, 6]);

    // Half of each collection's records, then a flush of every collection (WAL → engine + checkpoint),
    // then the other half, which stays in the WAL and memory only.
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
    const write = async (list: ReturnType<typeof batches>) => {
      const statuses = await mapLimit(list, 16, async (b) => {
        const res = await node.request("POST", `/collections/${b.id}/records`, { records: b.records });
        expect(res.json).toEqual({ accepted: BATCH });
        return res.status;
      });
      expect(statuses.every((s) => s === 200)).toBe(true);
    };
    await write(batches(0, PER_COLLECTION / 2));
    for (const id of ids) {
      const f = await node.request("POST", `/collections/${id}/flush`);
      expect(f.status, f.text).toBe(200);
      expect(f.json.records).toBe(PER_COLLECTION / 2);
    }
    await write(batches(PER_COLLECTION / 2, PER_COLLECTION));
    // Deletes of flushed and of unflushed records.
    for (const id of ids) {
      for (const r of [3, PER_COLLECTION - 3]) {
        const d = await node.request("DELETE", `/collections/${id}/records/r${r}`);
        expect(d.status).toBe(200);
        deleted.add(`${id}/r${r}`);
      }
    }
    expect((await node.request("GET", `/collections/${ids[0]}/records/r3`)).status).toBe(404);

    node.child.kill("SIGKILL");
    expect(await node.exited).toBe("SIGKILL");

    const again = await startNode(cwd);
    running.push(again);
    const listed = await again.request("GET", "/collections");
    expect(listed.json.collections.map((c: { id: string }) => c.id)).toEqual(ids);
    for (const c of listed.json.collections) expect(c.placements).toEqual(created.get(c.id)?.placements);

    const keys = ids.flatMap((id, c) => Array.from({ length: PER_COLLECTION }, (_, r) => ({ id, c, r })));
    const wrong: string[] = [];
    await mapLimit(keys, 16, async ({ id, c, r }) => {
      const res = await again.request("GET", `/collections/${id}/records/r${r}`);
      if (deleted.has(`${id}/r${r}`)) {
        if (res.status !== 404) wrong.push(`${id}/r${r}: deleted but ${res.status}`);
        return;
      }
      if (res.status !== 200) wrong.push(`${id}/r${r}: ${res.status}`);
      else if (
        JSON.stringify(res.json) !==
        JSON.stringify({ id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } })
      )
        wrong.push(`${id}/r${r}: ${res.text}`);
    });
    expect(wrong).toEqual([]);

    const metrics = await again.request("GET", "/metrics");
    expect(metrics.text).toContain("proximadb_assignments{");
    expect(metrics.text).toContain("proximadb_discovery_duration_seconds");
    expect(metrics.text).toContain("proximadb_wal_sync_seconds");

    expect(await again.stop("SIGTERM")).toBe(0);
  });

  it("discover --json, run after the restart, reports every collection where creation placed it", async () => {
    const r = await runCli(["discover", "--json"], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const [id, view] of created) {
      for (const [component, placement] of Object.entries(view.placements)) {
        const found = report.components[component].collections[id];
        expect(found, `${component} of ${id}`).toBeDefined();
        expect({ url: found.url, index: found.index }).toEqual(placement);
      }
      expect(report.components.metadata.collections[id]).toBeDefined();
    }
  });
});

describe("README quick start", () => {
  it("`proximadb serve` with no config in an empty folder serves /healthz and exits 0 on SIGTERM", async () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    expect(readme).toContain("node apps/node/dist/cli.js serve");
    expect(readme).toContain("curl -s http://127.0.0.1:7070/healthz");
    const cwd = tempDir();
    const node = await startNode(cwd);
    try {
      const health = await node.request("GET", "/healthz");
      expect(health.status).toBe(200);
      expect(health.json).toEqual({ status: "ok", collections: 0 });
      for (const c of ["wal", "viper", "lsm", "index", "metadata"])
        expect(existsSync(join(cwd, "data", "disk1", c, "_proximadb_root.json"))).toBe(true);
    } finally {
      expect(await node.stop("SIGTERM")).toBe(0);
    }
  });
});
