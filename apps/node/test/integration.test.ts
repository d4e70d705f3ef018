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
import { type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

const DIM = 4;
const running: RunningNode[] = [];

/** Deterministic vector of a record (exact in float32). */
function vectorOf(collection: number, record: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.fround(collection * 1000 + record + i / 4));
}

function toml(lines: Record<string, Record<string, unknown>>): string {
  return Object.entries(lines)
    .map(
      ([table, keys]) =>
        `[${table}]\n${Object.entries(keys)
          .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
          .join("\n")}\n`,
    )
    .join("\n");
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
      toml({
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
  const created = new Map<string, { placements: Record<string, { url: string; index: number }> }>();

  it("flushes, compacts, survives kill -9 with every acknowledged record, and keeps every placement", async () => {
    const node = await startNode(cwd, ["--config", config]);
    running.push(node);
    for (const [c, id] of ids.entries()) {
      const r = await node.request("POST", "/collections", { id, engine: engineOf(c), dimension: DIM });
      expect(r.status, r.text).toBe(201);
      created.set(id, r.json);
    }
    // Round-robin spread over each component's roots, whatever their scheme.
    const indexes = (component: string) =>
      [...created.values()].map((v) => v.placements[component]?.index).filter((i) => i !== undefined);
    expect(indexes("wal")).toEqual([0, 1, 2, 0, 1, 2]);
    expect(indexes("viper")).toEqual([0, 1, 0]);
    expect(indexes("lsm")).toEqual([0, 1, 2]);
    const schemes = [...created.values()].map((v) =>
      Object.values(v.placements).map((p) => p.url.split(":")[0]),
    );
    expect(new Set(schemes.flat())).toEqual(new Set(["s3", "file", "gcs", "adls"]));

    const write = async (id: string, c: number, batch: number) => {
      const records = Array.from({ length: PER_BATCH }, (_, k) => {
        const r = batch * PER_BATCH + k;
        return { id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } };
      });
      const res = await node.request("POST", `/collections/${id}/records`, { records });
      expect(res.status, res.text).toBe(200);
      expect(res.json).toEqual({ accepted: PER_BATCH });
    };
    // Two flushed generations, a compaction of them, then a third batch left in the WAL only.
    await Promise.all(
      ids.map(async (id, c) => {
        for (const batch of [0, 1]) {
          await write(id, c, batch);
          const f = await node.request("POST", `/collections/${id}/flush`);
          expect(f.status, f.text).toBe(200);
          expect(f.json.records).toBe(PER_BATCH);
        }
        const k = await node.request("POST", `/collections/${id}/compact`);
        expect(k.status, k.text).toBe(200);
        expect(k.json.files).toBe(1);
        await write(id, c, 2);
        const d = await node.request("DELETE", `/collections/${id}/records/r5`);
        expect(d.status, d.text).toBe(200);
      }),
    );
    for (const id of ids) {
      const view = await node.request("GET", `/collections/${id}`);
      expect(view.status, view.text).toBe(200);
      expect(view.json.placements).toEqual(created.get(id)?.placements);
      // The compacted engine data and the WAL tail are in their own roots, on their own backends.
      const engine = view.json.engine as string;
      expect(view.json.storage[engine].url).toBe(created.get(id)?.placements[engine]?.url);
      expect(view.json.storage[engine].files).toBeGreaterThan(0);
      expect(view.json.storage.wal.files).toBeGreaterThan(0);
    }

    node.child.kill("SIGKILL");
    expect(await node.exited).toBe("SIGKILL");

    const again = await startNode(cwd, ["--config", config]);
    running.push(again);
    const listed = await again.request("GET", "/collections");
    expect(listed.json.collections.map((c: { id: string }) => c.id).sort()).toEqual([...ids].sort());
    for (const c of listed.json.collections) expect(c.placements).toEqual(created.get(c.id)?.placements);
    const wrong: string[] = [];
    await Promise.all(
      ids.map(async (id, c) => {
        for (let r = 0; r < 3 * PER_BATCH; r++) {
          const res = await again.request("GET", `/collections/${id}/records/r${r}`);
          if (r === 5) {
            if (res.status !== 404) wrong.push(`${id}/r5: deleted but ${res.status}`);
          } else if (
            res.status !== 200 ||
            JSON.stringify(res.json) !==
              JSON.stringify({ id: `r${r}`, vector: vectorOf(c, r), metadata: { c, r } })
          )
            wrong.push(`${id}/r${r}: ${res.status} ${res.text}`);
        }
      }),
    );
    expect(wrong).toEqual([]);
    expect(await again.stop("SIGTERM")).toBe(0);
  });

  it("discover --json changes nothing on any backend and reports every collection where it was placed", async () => {
    const before = await snapshot(config);
    expect(Object.keys(before).length).toBeGreaterThan(ids.length * 3);
    const r = await runCli(["--config", config, "discover", "--json"], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(await snapshot(config)).toEqual(before);
    const report = JSON.parse(r.stdout);
    for (const component of ["wal", "viper", "lsm", "metadata"] as ComponentType[]) {
      const c = report.components[component];
      expect(c.conflicts, component).toEqual([]);
      expect(
        c.roots.every((root: { status: string }) => root.status === "online"),
        component,
      ).toBe(true);
    }
    for (const [id, view] of created) {
      for (const [component, placement] of Object.entries(view.placements)) {
        const found = report.components[component].collections[id];
        expect(found, `${component} of ${id}`).toBeDefined();
        expect({ url: found.url, index: found.index }).toEqual(placement);
        expect(found.files).toBeGreaterThan(0);
      }
      expect(report.components.metadata.collections[id]).toBeDefined();
    }
    // Secrets never leak into output.
    for (const secret of [s3.credentials.secretAccessKey, azurite.accountKey])
      expect(r.stdout + r.stderr).not.toContain(secret);
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
        toml({
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

  it("places each node's collections once, identically seen by both nodes and by `assign`, round-robin across both", async () => {
    const a = await startNode(shared, ["--config", configOf("node-a")]);
    running.push(a);
    const b = await startNode(shared, ["--config", configOf("node-b")]);
    running.push(b);
    const PER_NODE = 7;
    const mine = (node: string) =>
      Array.from({ length: PER_NODE }, (_, i) => ({
        id: `${node}-${i}`,
        engine: i % 2 === 0 ? "viper" : "lsm",
      }));
    // Both nodes create at once: placements race through etcd's transactions.
    const views = await Promise.all(
      (
        [
          [a, "a"],
          [b, "b"],
        ] as const
      ).flatMap(([node, name]) =>
        mine(name).map(async (c) => {
          const r = await node.request("POST", "/collections", { ...c, dimension: DIM });
          expect(r.status, r.text).toBe(201);
          const w = await node.request("POST", `/collections/${c.id}/records`, {
            records: [{ id: "x", vector: vectorOf(0, 1) }],
          });
          expect(w.status, w.text).toBe(200);
          return r.json as { id: string; placements: Record<string, { url: string; index: number }> };
        }),
      ),
    );
    expect(views).toHaveLength(2 * PER_NODE);

    for (const view of views) {
      for (const node of [a, b]) {
        const got = await node.request("GET", `/collections/${view.id}`);
        expect(got.status, `${view.id} through ${node.url}: ${got.text}`).toBe(200);
        expect(got.json.placements, view.id).toEqual(view.placements);
      }
    }
    // The CLI reads the same map from etcd, with the other node's configuration (a viper and an lsm collection).
    for (const view of [views[0], views[PER_NODE + 1]] as (typeof views)[number][]) {
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
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({
          collection: view.id,
          component,
          url: placement.url,
          index: placement.index,
          status: "existing",
        });
      }
    }

    // Both nodes report the same per-root counts (their caches follow etcd), spread within 1.
    const counts = async (node: RunningNode) => {
      const stats = (await node.request("GET", "/stats")).json;
      const out: Record<string, number[]> = {};
      for (const [component, c] of Object.entries(
        stats.components as Record<string, { roots: { collections: number }[] }>,
      ))
        out[component] = c.roots.map((r) => r.collections);
      return out;
    };
    const expected = { wal: 14, viper: 8, lsm: 6, metadata: 14 };
    await expect
      .poll(async () =>
        Object.fromEntries(
          Object.entries(await counts(b)).map(([k, v]) => [k, v.reduce((x, y) => x + y, 0)]),
        ),
      )
      .toMatchObject(expected);
    const fromA = await counts(a);
    const fromB = await counts(b);
    expect(fromA).toEqual(fromB);
    for (const [component, perRoot] of Object.entries(fromA)) {
      if (!(component in expected)) continue;
      expect(Math.max(...perRoot) - Math.min(...perRoot), `${component}: ${perRoot}`).toBeLessThanOrEqual(1);
    }

    expect(await a.stop("SIGTERM")).toBe(0);
    expect(await b.stop("SIGTERM")).toBe(0);
  });
});
