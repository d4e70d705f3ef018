/**
 * Online moves through the built binary with roots on Azurite (Azure Blob) and on the GCS JSON-API test
 * server, driven by the real SDKs: a collection's engine component moves between two roots of the backend
 * (server-side copy) and its WAL from local disk onto the backend, with writers and readers running the
 * whole time. Every move ends `done`, the node reports the destination, every acknowledged record reads
 * back (before and after a restart), and `discover --json` finds the collection only at the destination,
 * with nothing left in the source, `_incoming/` or `_retired/`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FileSystem, listAll } from "@proximadb/core";
import { type AzuriteInstance, startAzurite } from "@proximadb/testing/emulators/azurite";
import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfigFile } from "../src/config.js";
import { openRoots } from "../src/startup.js";
import { type ConfigTables, configToml } from "./config-support.js";
import { type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

const DIM = 3;
const vec = (n: number) => [n, n + 0.5, n + 0.25];
const ID = "c1";

/** Every key under every configured root (`<root url>/<key>`), read through the node's own adapters. */
async function everyKey(configPath: string): Promise<string[]> {
  const roots = await openRoots(await loadConfigFile(configPath));
  try {
    const out: string[] = [];
    for (const fs of roots.byUrl.values() as Iterable<FileSystem>)
      for (const f of (await listAll(fs, "")).files) out.push(`${fs.root.url}/${f.key}`);
    return out.sort();
  } finally {
    await roots.close();
  }
}

/** Writers of new records and readers of acknowledged ones against a running node, until stopped. */
function traffic(node: RunningNode, acked: Set<number>) {
  let stop = false;
  let next = 0;
  const failures: string[] = [];
  let reads = 0;
  const writer = async () => {
    while (!stop) {
      const batch = Array.from({ length: 4 }, () => next++);
      const r = await node.request("POST", `/collections/${ID}/records`, {
        records: batch.map((i) => ({ id: `r${i}`, vector: vec(i) })),
      });
      if (r.status === 200) for (const i of batch) acked.add(i);
      else failures.push(`put ${batch[0]}: ${r.status} ${r.text}`);
    }
  };
  const reader = async () => {
    while (!stop) {
      const done = [...acked];
      const i = done[Math.floor(Math.random() * done.length)];
      if (i === undefined) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const r = await node.request("GET", `/collections/${ID}/records/r${i}`);
      reads++;
      if (r.status !== 200 || JSON.stringify(r.json.vector) !== JSON.stringify(vec(i)))
        failures.push(`get r${i}: ${r.status} ${r.text}`);
    }
  };
  const lanes = [writer(), writer(), reader()];
  return async () => {
    stop = true;
    await Promise.all(lanes);
    return { failures, reads };
  };
}

/** Records of `acked` that do not read back exactly. */
async function unreadable(node: RunningNode, acked: Set<number>): Promise<string[]> {
  const wrong: string[] = [];
  for (const i of acked) {
    const r = await node.request("GET", `/collections/${ID}/records/r${i}`);
    if (r.status !== 200 || JSON.stringify(r.json.vector) !== JSON.stringify(vec(i)))
      wrong.push(`r${i}: ${r.status}`);
  }
  return wrong;
}

/** Asks the node for a move and polls `GET /moves/:id` until it ends. */
async function move(node: RunningNode, component: string, to: string) {
  const started = await node.request("POST", `/collections/${ID}/moves`, { component, to });
  expect(started.status, started.text).toBe(202);
  for (;;) {
    const v = (await node.request("GET", `/moves/${started.json.move.id}`)).json.move;
    if (v.state === "done" || v.state === "failed") return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Backend {
  readonly name: string;
  readonly engine: "viper" | "lsm";
  /** The engine's two roots on the backend, and the WAL root on it. */
  readonly engineRoots: [string, string];
  readonly walRoot: string;
  /** `[backends.*]` table and environment of the node. */
  readonly tables: ConfigTables;
}

/**
 * The scenario on one backend: the engine component moves root → root on the backend, the WAL local disk
 * → the backend, under traffic; then a restart and `discover --json`.
 */
async function scenario(b: Backend) {
  const cwd = tempDir(`proximadb-move-${b.name}-`);
  const config = join(cwd, "proximadb.toml");
  const local = { wal: "file://disk/wal", viper: "file://disk/viper", lsm: "file://disk/lsm" };
  const dataUrls = (c: "viper" | "lsm") => (c === b.engine ? b.engineRoots : [local[c]]);
  writeFileSync(
    config,
    configToml({
      "storage.wal_config": { wal_urls: [local.wal, b.walRoot], segment_bytes: 4096 },
      "storage.viper_config": { data_urls: dataUrls("viper"), distribution_strategy: "RoundRobin" },
      "storage.lsm_config": { data_urls: dataUrls("lsm") },
      "storage.metadata_config": { metadata_urls: ["file://disk/metadata"] },
      server: { node_id: `move-${b.name}` },
      engine: { flush_threshold_bytes: 4096, compact_file_count: 3, background_interval_ms: 20 },
      ...b.tables,
    }),
  );
  const node = await startNode(cwd, ["--config", config, "--log-format", "json"]);
  const acked = new Set<number>();
  try {
    const created = await node.request("POST", "/collections", { id: ID, engine: b.engine, dimension: DIM });
    expect(created.status, created.text).toBe(201);
    expect(created.json.placements[b.engine].url).toBe(b.engineRoots[0]);
    expect(created.json.placements.wal.url).toMatch(/^file:/);
    const walFrom = created.json.placements.wal.url as string;
    const stop = traffic(node, acked);
    await new Promise((r) => setTimeout(r, 300));
    const engineMove = await move(node, b.engine, b.engineRoots[1]);
    await new Promise((r) => setTimeout(r, 100));
    const walMove = await move(node, "wal", b.walRoot);
    await new Promise((r) => setTimeout(r, 100));
    const { failures, reads } = await stop();
    const view = (await node.request("GET", `/collections/${ID}`)).json;
    const wrong = await unreadable(node, acked);
    await node.stop();

    // A restart: the placement is read back from the listing; every record still there.
    const again = await startNode(cwd, ["--config", config, "--log-format", "json"]);
    let after: Record<string, { url: string }>;
    let wrongAfter: string[];
    try {
      after = (await again.request("GET", `/collections/${ID}`)).json.storage;
      wrongAfter = await unreadable(again, acked);
    } finally {
      await again.stop();
    }
    const discover = await runCli(["--config", config, "discover", "--json"], { cwd });
    return {
      acked: acked.size,
      engineMove,
      walMove,
      walFrom,
      failures,
      reads,
      view,
      wrong,
      after,
      wrongAfter,
      discover,
      keys: await everyKey(config),
    };
  } catch (err) {
    await node.stop().catch(() => undefined);
    throw err;
  }
}

/** The checks every backend's scenario must pass. */
function expectMoved(b: Backend, r: Awaited<ReturnType<typeof scenario>>): void {
  expect(r.engineMove.state, r.engineMove.error).toBe("done");
  expect(r.walMove.state, r.walMove.error).toBe("done");
  expect(r.engineMove).toMatchObject({ from: b.engineRoots[0], to: b.engineRoots[1] });
  expect(r.walMove).toMatchObject({ from: r.walFrom, to: b.walRoot });
  expect(r.engineMove.bytesDone).toBeGreaterThan(0);
  expect(r.walMove.bytesDone).toBeGreaterThan(0);
  // Reads and writes ran through both moves, and every one of them was answered.
  expect(r.failures.slice(0, 5)).toEqual([]);
  expect(r.acked).toBeGreaterThan(0);
  expect(r.reads).toBeGreaterThan(0);
  expect(r.view.storage[b.engine].url).toBe(b.engineRoots[1]);
  expect(r.view.storage.wal.url).toBe(b.walRoot);
  expect(r.wrong.slice(0, 5)).toEqual([]);
  expect(r.after[b.engine]?.url).toBe(b.engineRoots[1]);
  expect(r.after.wal?.url).toBe(b.walRoot);
  expect(r.wrongAfter.slice(0, 5)).toEqual([]);
  // Discovery: the collection only at the destination, no conflict, every root online.
  expect(r.discover.code, r.discover.stderr).toBe(0);
  const report = JSON.parse(r.discover.stdout);
  for (const [component, to] of [
    [b.engine, b.engineRoots[1]],
    ["wal", b.walRoot],
  ] as const) {
    const c = report.components[component];
    expect(c.conflicts, component).toEqual([]);
    expect(c.collections[ID]?.url, component).toBe(to);
    const counts = Object.fromEntries(
      c.roots.map((root: { url: string; collections: number }) => [root.url, root.collections]),
    );
    expect(counts[to], component).toBe(1);
    const from = component === "wal" ? r.walFrom : b.engineRoots[0];
    expect(counts[from], component).toBe(0);
  }
  // Nothing of the collection is left in a source root, nor any incoming or retired copy anywhere.
  const leftovers = r.keys.filter(
    (k) =>
      k.startsWith(`${b.engineRoots[0]}/${ID}/`) ||
      k.startsWith(`${r.walFrom}/${ID}/`) ||
      k.includes("/_incoming/") ||
      k.includes("/_retired/"),
  );
  expect(leftovers).toEqual([]);
  expect(r.keys.some((k) => k.startsWith(`${b.engineRoots[1]}/${ID}/`))).toBe(true);
  expect(r.keys.some((k) => k.startsWith(`${b.walRoot}/${ID}/`))).toBe(true);
}

describe("online moves on Azurite through the built binary, under reads and writes", () => {
  let azurite: AzuriteInstance;
  beforeAll(async () => {
    azurite = await startAzurite({ containers: ["lsm-one", "lsm-two", "wal-box"] });
    vi.stubEnv("AZURE_STORAGE_KEY", azurite.accountKey);
    vi.stubEnv("AZURE_STORAGE_CONNECTION_STRING", "");
  }, 60_000);
  afterAll(async () => {
    vi.unstubAllEnvs();
    await azurite?.stop();
  });

  it("moves an LSM collection adls:// → adls:// and its WAL file:// → adls://; every acknowledged record reads back, found only at the destination", async () => {
    const acct = azurite.accountName;
    const b: Backend = {
      name: "azure",
      engine: "lsm",
      engineRoots: [`adls://${acct}/lsm-one/lsm`, `adls://${acct}/lsm-two`],
      walRoot: `adls://${acct}/wal-box/wal`,
      tables: { "backends.azure": { endpoint: azurite.blobEndpoint, max_tries: 3 } },
    };
    expectMoved(b, await scenario(b));
  }, 90_000);
});

describe("online moves on the GCS server through the built binary, under reads and writes", () => {
  let gcs: GcsServer;
  beforeAll(async () => {
    gcs = await startGcsServer({ buckets: ["viper-data", "wal-data"] });
    vi.stubEnv("GOOGLE_APPLICATION_CREDENTIALS", "");
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await gcs?.stop();
  });

  it("moves a VIPER collection gcs:// → gcs:// and its WAL file:// → gcs://; every acknowledged record reads back, found only at the destination", async () => {
    const b: Backend = {
      name: "gcs",
      engine: "viper",
      engineRoots: ["gcs://viper-data/viper-a", "gcs://viper-data/viper-b"],
      walRoot: "gcs://wal-data/wal",
      tables: { "backends.gcs": { endpoint: gcs.endpoint, project_id: gcs.projectId, max_retries: 2 } },
    };
    expectMoved(b, await scenario(b));
  }, 90_000);
});
