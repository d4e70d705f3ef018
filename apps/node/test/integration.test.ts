/**
 * Integration tier: the built `proximadb` binary against real servers driven by the real SDKs —
 * s3rver (WAL), the GCS JSON-API test server (VIPER), Azurite (LSM) and etcd (a shared assignment
 * store). Every server is started here on a free loopback port and stopped at the end; credentials
 * reach the node through its environment only, as in production.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ComponentType, FileSystem } from "@proximadb/core";
import { listAll } from "@proximadb/core";
import { type AzuriteInstance, startAzurite } from "@proximadb/testing/emulators/azurite";
import { type EtcdServer, startEtcd } from "@proximadb/testing/emulators/etcd";
import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfigFile } from "../src/config.js";
import { openRoots } from "../src/startup.js";
import { configToml } from "./config-support.js";
import { type RunResult, type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

const DIM = 4;
const running: RunningNode[] = [];

type Response = Awaited<ReturnType<RunningNode["request"]>>;
type Placements = Record<string, { url: string; index: number }>;

/** Deterministic vector of a record (exact in float32). */
function vectorOf(collection: number, record: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.fround(collection * 1000 + record + i / 4));
}

/** Every key and size under every configured root, read through the node's own adapters. */
async function snapshot(configPath: string): Promise<Record<string, number>> {
  const roots = await openRoots(await loadConfigFile(configPath));
  try {
    const out: Record<string, number> = {};
    for (const fs of roots.byUrl.values() as Iterable<FileSystem>) {
      for (const f of (await listAll(fs, "")).files) out[`${fs.root.url}/${f.key}`] = f.size;
    }
    return out;
  } finally {
    await roots.close();
  }
}

afterAll(() => {
  for (const n of running)
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill("SIGKILL");
  vi.unstubAllEnvs();
});

describe("a node on s3rver (WAL), the GCS server (VIPER), Azurite (LSM) and local disk (metadata)", () => {
  let s3: S3rverInstance;
  let azurite: AzuriteInstance;
  let gcs: GcsServer;
  const cwd = tempDir("proximadb-integration-");
  const config = join(cwd, "proximadb.toml");

  beforeAll(async () => {
    [s3, azurite, gcs] = await Promise.all([
      startS3rver({ buckets: ["proximadb-data"] }),
      startAzurite({ containers: ["lsm-one", "lsm-two"] }),
      startGcsServer({ buckets: ["proximadb-viper"] }),
    ]);
    // Secrets only from the environment (the node rejects them in the file).
    vi.stubEnv("AWS_ACCESS_KEY_ID", s3.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", s3.credentials.secretAccessKey);
    vi.stubEnv("AZURE_STORAGE_KEY", azurite.accountKey);
    vi.stubEnv("AZURE_STORAGE_CONNECTION_STRING", "");
    vi.stubEnv("GOOGLE_APPLICATION_CREDENTIALS", "");
    writeFileSync(
      config,
      configToml({
        "storage.wal_config": {
          // Mixed schemes in one component: two S3 prefixes and a local folder.
          wal_urls: ["s3://proximadb-data/node/wal-a", "s3://proximadb-data/node/wal-b", "file://disk/wal"],
          sync: "batch",
        },
        "storage.viper_config": {
          data_urls: ["gcs://proximadb-viper/viper-a", "gcs://proximadb-viper/viper-b"],
        },
        "storage.lsm_config": {
          // Azurite, plus one S3 root: SSTables are streamed uploads (multipart-capable) on S3.
          data_urls: [
            `adls://${azurite.accountName}/lsm-one/lsm`,
            `adls://${azurite.accountName}/lsm-two`,
            "s3://proximadb-data/node/lsm-c",
          ],
        },
        "storage.metadata_config": { metadata_urls: ["file://meta1", "file://meta2"] },
        "backends.s3": {
          endpoint: s3.endpoint,
          region: s3.region,
          force_path_style: true,
          max_attempts: 3,
        },
        "backends.azure": { endpoint: azurite.blobEndpoint, max_tries: 3 },
        "backends.gcs": { endpoint: gcs.endpoint, project_id: gcs.projectId, max_retries: 2 },
        server: { node_id: "cloud-node" },
        engine: { background_interval_ms: 60_000 },
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([s3?.stop(), azurite?.stop(), gcs?.stop()]);
  });

  const ids = ["vec-0", "kv-1", "vec-2", "kv-3", "vec-4", "kv-5"];
  const engineOf = (c: number) => (c % 2 === 0 ? "viper" : "lsm");
  const PER_BATCH = 40;

  /** What the scenario saw, step by step; each `it` below checks one property of it. */
  const seen = {
    creations: [] as { id: string; res: Response }[],
    writes: [] as Response[],
    flushes: [] as Response[],
    compactions: [] as Response[],
    deletes: [] as Response[],
    views: [] as { id: string; res: Response }[],
    killedBy: undefined as unknown,
    listed: undefined as unknown as Response,
    wrongAfterRestart: [] as string[],
    stopCode: undefined as unknown,
    before: {} as Record<string, number>,
    after: {} as Record<string, number>,
    discover: undefined as unknown as RunResult,
  };
  const placementsOf = (id: string): Placements =>
    seen.creations.find((c) => c.id === id)?.res.json.placements ?? {};

  // Collections of both engines written, flushed twice, compacted, written again (a third batch left in
  // the WAL only) with a delete; kill -9; restart; every record read back; then `discover --json`.
  beforeAll(async () => {
    const node = await startNode(cwd, ["--config", config]);
    running.push(node);
    for (const [c, id] of ids.entries()) {
      const res = await node.request("POST", "/collections", { id, engine: engineOf(c), dimension: DIM });
      seen.creations.push({ id, res });
    }
    const write = async (id: string, c: number, batch: number) => {
      const records = Array.from({ length: PER_BATCH }, (_, k) => {
        const r = batch * PER_BATCH + k;
        return { id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } };
      });
      seen.writes.push(await node.request("POST", `/collections/${id}/records`, { records }));
    };
    await Promise.all(
      ids.map(async (id, c) => {
        for (const batch of [0, 1]) {
          await write(id, c, batch);
          seen.flushes.push(await node.request("POST", `/collections/${id}/flush`));
        }
        seen.compactions.push(await node.request("POST", `/collections/${id}/compact`));
        await write(id, c, 2);
        seen.deletes.push(await node.request("DELETE", `/collections/${id}/records/r5`));
      }),
    );
    for (const id of ids) seen.views.push({ id, res: await node.request("GET", `/collections/${id}`) });

    node.child.kill("SIGKILL");
    seen.killedBy = await node.exited;

    const again = await startNode(cwd, ["--config", config]);
    running.push(again);
    seen.listed = await again.request("GET", "/collections");
    await Promise.all(
      ids.map(async (id, c) => {
        for (let r = 0; r < 3 * PER_BATCH; r++) {
          const res = await again.request("GET", `/collections/${id}/records/r${r}`);
          if (r === 5) {
            if (res.status !== 404) seen.wrongAfterRestart.push(`${id}/r5: deleted but ${res.status}`);
          } else if (
            res.status !== 200 ||
            JSON.stringify(res.json) !==
              JSON.stringify({ id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } })
          )
            seen.wrongAfterRestart.push(`${id}/r${r}: ${res.status} ${res.text}`);
        }
      }),
    );
    seen.stopCode = await again.stop("SIGTERM");

    seen.before = await snapshot(config);
    seen.discover = await runCli(["--config", config, "discover", "--json"], { cwd });
    seen.after = await snapshot(config);
  }, 180_000);

  it("creates every collection with 201", () => {
    expect(seen.creations).toHaveLength(ids.length);
    for (const { res } of seen.creations) expect(res.status, res.text).toBe(201);
  });

  it("spreads each component round-robin over its roots, whatever their scheme", () => {
    const indexes = (component: string) =>
      seen.creations.map((c) => c.res.json.placements[component]?.index).filter((i) => i !== undefined);
    expect(indexes("wal")).toEqual([0, 1, 2, 0, 1, 2]);
    expect(indexes("viper")).toEqual([0, 1, 0]);
    expect(indexes("lsm")).toEqual([0, 1, 2]);
  });

  it("places collections on every backend: S3, local, GCS and Azure", () => {
    const schemes = seen.creations.map((c) =>
      Object.values(c.res.json.placements as Placements).map((p) => p.url.split(":")[0]),
    );
    expect(new Set(schemes.flat())).toEqual(new Set(["s3", "file", "gcs", "adls"]));
  });

  it("acknowledges every batch with 200 and accepted: 40", () => {
    expect(seen.writes).toHaveLength(3 * ids.length);
    for (const res of seen.writes) {
      expect(res.status, res.text).toBe(200);
      expect(res.json).toEqual({ accepted: PER_BATCH });
    }
  });

  it("flushes each generation (40 records) with 200", () => {
    expect(seen.flushes).toHaveLength(2 * ids.length);
    for (const f of seen.flushes) {
      expect(f.status, f.text).toBe(200);
      expect(f.json.records).toBe(PER_BATCH);
    }
  });

  it("compacts two flushed generations into one file", () => {
    expect(seen.compactions).toHaveLength(ids.length);
    for (const k of seen.compactions) {
      expect(k.status, k.text).toBe(200);
      expect(k.json.files).toBe(1);
    }
  });

  it("deletes a record of each collection with 200", () => {
    expect(seen.deletes).toHaveLength(ids.length);
    for (const d of seen.deletes) expect(d.status, d.text).toBe(200);
  });

  it("GET /collections/:id shows the placements of creation", () => {
    for (const { id, res } of seen.views) {
      expect(res.status, res.text).toBe(200);
      expect(res.json.placements).toEqual(placementsOf(id));
    }
  });

  it("keeps the compacted engine data and the WAL tail in their own roots, on their own backends", () => {
    for (const { id, res } of seen.views) {
      const engine = res.json.engine as string;
      expect(res.json.storage[engine].url).toBe(placementsOf(id)[engine]?.url);
      expect(res.json.storage[engine].files).toBeGreaterThan(0);
      expect(res.json.storage.wal.files).toBeGreaterThan(0);
    }
  });

  it("dies by SIGKILL", () => {
    expect(seen.killedBy).toBe("SIGKILL");
  });

  it("lists every collection after the restart", () => {
    expect(seen.listed.json.collections.map((c: { id: string }) => c.id).sort()).toEqual([...ids].sort());
  });

  it("keeps every placement across the restart", () => {
    for (const c of seen.listed.json.collections) expect(c.placements).toEqual(placementsOf(c.id));
  });

  it("reads back every acknowledged record exactly, and the deleted one as 404", () => {
    expect(seen.wrongAfterRestart).toEqual([]);
  });

  it("exits 0 on SIGTERM", () => {
    expect(seen.stopCode).toBe(0);
  });

  it("discover --json exits 0", () => {
    expect(seen.discover.code, seen.discover.stderr).toBe(0);
  });

  it("discover --json changes nothing on any backend", () => {
    expect(Object.keys(seen.before).length).toBeGreaterThan(ids.length * 3);
    expect(seen.after).toEqual(seen.before);
  });

  it("discover --json finds no conflict and every root online", () => {
    const report = JSON.parse(seen.discover.stdout);
    for (const component of ["wal", "viper", "lsm", "metadata"] as ComponentType[]) {
      const c = report.components[component];
      expect(c.conflicts, component).toEqual([]);
      expect(
        c.roots.every((root: { status: string }) => root.status === "online"),
        component,
      ).toBe(true);
    }
  });

  it("discover --json reports every collection where it was placed, with its files and its metadata", () => {
    const report = JSON.parse(seen.discover.stdout);
    for (const { id } of seen.creations) {
      for (const [component, placement] of Object.entries(placementsOf(id))) {
        const found = report.components[component].collections[id];
        expect(found, `${component} of ${id}`).toBeDefined();
        expect({ url: found.url, index: found.index }).toEqual(placement);
        expect(found.files).toBeGreaterThan(0);
      }
      expect(report.components.metadata.collections[id]).toBeDefined();
    }
  });

  it("never prints a secret", () => {
    for (const secret of [s3.credentials.secretAccessKey, azurite.accountKey])
      expect(seen.discover.stdout + seen.discover.stderr).not.toContain(secret);
  });
});

describe("two nodes sharing one etcd and the same local roots", () => {
  let etcd: EtcdServer;
  const shared = tempDir("proximadb-shared-");
  const configOf = (name: string) => join(shared, `${name}.toml`);

  beforeAll(async () => {
    etcd = await startEtcd();
    for (const name of ["node-a", "node-b"]) {
      writeFileSync(
        configOf(name),
        configToml({
          "storage.wal_config": { wal_urls: ["file://disk1/wal", "file://disk2/wal", "file://disk3/wal"] },
          "storage.viper_config": {
            data_urls: ["file://disk1/viper", "file://disk2/viper", "file://disk3/viper"],
          },
          "storage.lsm_config": { data_urls: ["file://disk1/lsm", "file://disk2/lsm"] },
          "storage.metadata_config": { metadata_urls: ["file://disk1/meta", "file://disk2/meta"] },
          assignment_store: { type: "etcd", endpoints: [etcd.endpoint], cluster: "integration" },
          server: { node_id: name },
          engine: { background_interval_ms: 60_000 },
        }),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await etcd?.stop();
  });

  const PER_NODE = 7;
  type View = { id: string; placements: Placements };
  const expected = { wal: 14, viper: 8, lsm: 6, metadata: 14 };
  /** What the scenario saw; each `it` below checks one property of it. */
  const seen = {
    creations: [] as Response[],
    writes: [] as Response[],
    reads: [] as { id: string; through: string; res: Response; answeredBy: string; owner: string }[],
    assigns: [] as { view: View; component: string; placement: Placements[string]; r: RunResult }[],
    totals: {} as Record<string, number>,
    fromA: {} as Record<string, number[]>,
    fromB: {} as Record<string, number[]>,
    stopCodes: [] as unknown[],
  };
  const views = () => seen.creations.map((r) => r.json as View);

  // Both nodes create their collections at once (placements race through etcd's transactions) and write
  // one record to each; then every collection is read through both nodes and looked up by the CLI.
  beforeAll(async () => {
    const a = await startNode(shared, ["--config", configOf("node-a")]);
    running.push(a);
    const b = await startNode(shared, ["--config", configOf("node-b")]);
    running.push(b);
    const mine = (node: string) =>
      Array.from({ length: PER_NODE }, (_, i) => ({
        id: `${node}-${i}`,
        engine: i % 2 === 0 ? "viper" : "lsm",
      }));
    await Promise.all(
      (
        [
          [a, "a", 0],
          [b, "b", PER_NODE],
        ] as const
      ).flatMap(([node, name, offset]) =>
        mine(name).map(async (c, i) => {
          // Kept in creation order (a-0…a-6, b-0…b-6), whatever order the requests finish in.
          seen.creations[offset + i] = await node.request("POST", "/collections", { ...c, dimension: DIM });
          seen.writes.push(
            await node.request("POST", `/collections/${c.id}/records`, {
              records: [{ id: "x", vector: vectorOf(0, 1) }],
            }),
          );
        }),
      ),
    );
    // Each collection is served by its owner (the node that created it); the other answers 307 there.
    for (const view of views())
      for (const node of [a, b]) {
        const res = await fetch(`${node.url}/collections/${view.id}`);
        const text = await res.text();
        seen.reads.push({
          id: view.id,
          through: node.url,
          res: { status: res.status, json: JSON.parse(text), text },
          answeredBy: new URL(res.url).origin,
          owner: view.id.startsWith("a") ? a.url : b.url,
        });
      }
    // The CLI reads the same map from etcd, with the other node's configuration (a viper and an lsm collection).
    for (const view of [views()[0], views()[PER_NODE + 1]] as View[]) {
      for (const [component, placement] of Object.entries(view.placements)) {
        const r = await runCli(
          [
            "--config",
            configOf(view.id.startsWith("a") ? "node-b" : "node-a"),
            "assign",
            view.id,
            "--component",
            component,
            "--json",
          ],
          { cwd: shared },
        );
        seen.assigns.push({ view, component, placement, r });
      }
    }
    const counts = async (node: RunningNode) => {
      const stats = (await node.request("GET", "/stats")).json;
      const out: Record<string, number[]> = {};
      for (const [component, c] of Object.entries(
        stats.components as Record<string, { roots: { collections: number }[] }>,
      ))
        out[component] = c.roots.map((r) => r.collections);
      return out;
    };
    // B's cache follows etcd by a watch: wait (a bounded number of polls) until it has seen every placement.
    for (let poll = 0; poll < 100; poll++) {
      const perRoot = await counts(b);
      seen.totals = Object.fromEntries(
        Object.entries(perRoot).map(([k, v]) => [k, v.reduce((x, y) => x + y, 0)]),
      );
      if (Object.entries(expected).every(([k, n]) => seen.totals[k] === n)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    seen.fromA = await counts(a);
    seen.fromB = await counts(b);
    seen.stopCodes.push(await a.stop("SIGTERM"), await b.stop("SIGTERM"));
  }, 180_000);

  it("creates all 14 collections with 201", () => {
    expect(seen.creations.filter(Boolean)).toHaveLength(2 * PER_NODE);
    for (const r of seen.creations) expect(r.status, r.text).toBe(201);
  });

  it("writes a record to each collection with 200", () => {
    expect(seen.writes).toHaveLength(2 * PER_NODE);
    for (const w of seen.writes) expect(w.status, w.text).toBe(200);
  });

  it("shows every collection through both nodes with the placements of its creation", () => {
    expect(seen.reads).toHaveLength(2 * 2 * PER_NODE);
    for (const { id, through, res } of seen.reads) {
      expect(res.status, `${id} through ${through}: ${res.text}`).toBe(200);
      expect(res.json.placements, id).toEqual(views().find((v) => v.id === id)?.placements);
    }
  });

  it("serves each collection from the node that created it (its owner), redirecting from the other", () => {
    for (const { id, answeredBy, owner, res } of seen.reads) {
      expect(answeredBy, id).toBe(owner);
      expect(res.json.owner, id).toBe(id.startsWith("a") ? "node-a" : "node-b");
    }
  });

  it("`assign` with the other node's configuration shows the same placements, read from etcd", () => {
    expect(seen.assigns.length).toBeGreaterThanOrEqual(4);
    for (const { view, component, placement, r } of seen.assigns) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        collection: view.id,
        component,
        url: placement?.url,
        index: placement?.index,
        status: "existing",
      });
    }
  });

  it("counts every placement in the other node's /stats (its cache follows etcd)", () => {
    expect(seen.totals).toMatchObject(expected);
  });

  it("reports the same per-root counts on both nodes", () => {
    expect(seen.fromA).toEqual(seen.fromB);
  });

  it("keeps every component's roots within one collection of each other (round-robin across both nodes)", () => {
    for (const [component, perRoot] of Object.entries(seen.fromA)) {
      if (!(component in expected)) continue;
      expect(Math.max(...perRoot) - Math.min(...perRoot), `${component}: ${perRoot}`).toBeLessThanOrEqual(1);
    }
  });

  it("exits 0 on SIGTERM on both nodes", () => {
    expect(seen.stopCodes).toEqual([0, 0]);
  });
});
