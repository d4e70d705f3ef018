// Ingest through the real node binary on object-store roots behind the fault proxy (issue #18): for each of
// s3rver, Azurite and the GCS test server, 4 writers × batches of 10 for a fixed time without faults, then
// at 2 % 503 + 0.5 % resets, again without faults, then at 20 % + 5 % (each rate's ratio is against the
// fault-free phase just before it); then kill -9 and restart (start-up to "listening", without faults and
// at both rates), and read back every acknowledged record (0 may be lost, no 500s).
//
// Env: PROXIMADB_BENCH_STORES=s3,azure,gcs (default all three), PROXIMADB_BENCH_SECONDS=5 (per phase),
// PROXIMADB_BENCH_RETRY_AFTER=<seconds> (the proxy's Retry-After on its 503s; default 0),
// PROXIMADB_BENCH_RESTARTS=3 (kill -9 + restarts per fault rate; the median is shown).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startAzurite } from "@proximadb/testing/emulators/azurite";
import { startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { startS3rver } from "@proximadb/testing/emulators/s3rver";
import { type FaultProxy, createFaultProxy } from "@proximadb/testing/fault-proxy";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { configToml } from "../test/config-support.ts";
import { type RunningNode, startNode, tempDir } from "../test/helpers.ts";
import { must } from "../test/search-support.ts";

type Store = "s3" | "azure" | "gcs";
const STORES = (process.env.PROXIMADB_BENCH_STORES ?? "s3,azure,gcs")
  .split(",")
  .map((s) => s.trim())
  .filter((s): s is Store => s === "s3" || s === "azure" || s === "gcs");
const SECONDS = Number(process.env.PROXIMADB_BENCH_SECONDS ?? 5);
const RETRY_AFTER = process.env.PROXIMADB_BENCH_RETRY_AFTER;
const RESTARTS = Number(process.env.PROXIMADB_BENCH_RESTARTS ?? 3);
const WRITERS = 4;
const BATCH = 10;
const DIM = 16;
const RATES = [
  { name: "2%+0.5%", errorRate: 0.02, resetRate: 0.005 },
  { name: "20%+5%", errorRate: 0.2, resetRate: 0.05 },
] as const;
const COMPONENTS = {
  wal: "wal_urls",
  viper: "data_urls",
  lsm: "data_urls",
  index: "index_urls",
  metadata: "metadata_urls",
} as const;

/** Deterministic vector of a record, exact in float32. */
const vectorOf = (c: number, r: number) =>
  Array.from({ length: DIM }, (_, d) => Math.fround(c * 7 + (r % 997) + d / 4));

/** A started emulator behind a fault proxy, and the node settings that reach it. */
interface Backend {
  proxy: FaultProxy;
  /** Root URL of component `c`, root `i`. */
  root(c: string, i: number): string;
  tables: Record<string, Record<string, unknown>>;
  env: Record<string, string>;
  stop(): Promise<void>;
}

async function backend(store: Store): Promise<Backend> {
  const proxyOf = (target: string) =>
    createFaultProxy({
      target,
      seed: 18,
      ...(RETRY_AFTER === undefined ? {} : { retryAfterSeconds: Number(RETRY_AFTER) }),
    });
  if (store === "s3") {
    const s3 = await startS3rver({ buckets: ["bench-faults"] });
    const proxy = await proxyOf(s3.endpoint);
    return {
      proxy,
      root: (c, i) => `s3://bench-faults/${c}-${i}`,
      tables: {
        "backends.s3": { endpoint: proxy.url, region: s3.region, force_path_style: true },
      },
      env: {
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
        AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
      },
      async stop() {
        await proxy.close();
        await s3.stop();
      },
    };
  }
  if (store === "azure") {
    const containers = Object.keys(COMPONENTS).flatMap((c) => [`${c}-0`, `${c}-1`]);
    const az = await startAzurite({ containers: containers.map((c) => `bench-${c}`) });
    const proxy = await proxyOf(`http://127.0.0.1:${az.port}`);
    return {
      proxy,
      root: (c, i) => `adls://${az.accountName}/bench-${c}-${i}/data`,
      tables: { "backends.azure": { endpoint: `${proxy.url}/${az.accountName}` } },
      env: { AZURE_STORAGE_KEY: az.accountKey, AZURE_STORAGE_CONNECTION_STRING: "" },
      async stop() {
        await proxy.close();
        await az.stop();
      },
    };
  }
  const gcs = await startGcsServer({ buckets: ["bench-faults"] });
  const proxy = await proxyOf(gcs.endpoint);
  return {
    proxy,
    root: (c, i) => `gcs://bench-faults/${c}-${i}`,
    tables: { "backends.gcs": { endpoint: proxy.url, project_id: gcs.projectId } },
    env: { GOOGLE_APPLICATION_CREDENTIALS: "" },
    async stop() {
      await proxy.close();
      await gcs.stop();
    },
  };
}

/** A JSON log line, or undefined. */
function parseLine(line: string): { msg?: string; timings?: Record<string, number> } | undefined {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Starts `serve` and measures spawn → "listening" (up to 5 minutes: start-up under faults is what we measure). */
async function start(cwd: string, env: Record<string, string>): Promise<{ node: RunningNode; ms: number }> {
  const t0 = performance.now();
  const node = await startNode(cwd, ["--config", "proximadb.toml"], {
    env,
    listenTimeoutMs: 5 * 60_000,
    lifetimeMs: 30 * 60_000,
  });
  return { node, ms: performance.now() - t0 };
}

interface Phase {
  records: number;
  perSecond: number;
  statuses: Record<string, number>;
}

/** 4 writers, each to its own collection, batches of 10, for `seconds`; acknowledged ids go to `acked`. */
async function ingest(
  node: RunningNode,
  ids: string[],
  acked: Map<string, number[]>,
  next: number[],
  seconds = SECONDS,
): Promise<Phase> {
  const statuses: Record<string, number> = {};
  let records = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    ids.map(async (id, c) => {
      while (performance.now() < until) {
        const from = next[c] as number;
        next[c] = from + BATCH;
        const batch = Array.from({ length: BATCH }, (_, k) => ({
          id: `r${from + k}`,
          vector: vectorOf(c, from + k),
          metadata: { r: from + k },
        }));
        let status: number | string;
        try {
          status = (await node.request("POST", `/collections/${id}/records`, { records: batch })).status;
        } catch (err) {
          status = (err as { code?: string }).code ?? "error";
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === 200) {
          records += BATCH;
          const list = acked.get(id) ?? [];
          for (let k = 0; k < BATCH; k++) list.push(from + k);
          acked.set(id, list);
        }
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  return { records, perSecond: records / s, statuses };
}

/** Reads every acknowledged record back; returns the count read and what is missing or wrong. */
async function readBack(node: RunningNode, ids: string[], acked: Map<string, number[]>) {
  const wrong: string[] = [];
  const statuses: Record<string, number> = {};
  let checked = 0;
  const work = ids.flatMap((id, c) => (acked.get(id) ?? []).map((r) => ({ id, c, r })));
  let i = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (i < work.length) {
        const { id, c, r } = work[i++] as { id: string; c: number; r: number };
        const res = await node.request("GET", `/collections/${id}/records/r${r}`);
        checked++;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const ok =
          res.status === 200 &&
          JSON.stringify(res.json?.vector) === JSON.stringify(vectorOf(c, r)) &&
          res.json?.metadata?.r === r;
        if (!ok) wrong.push(`${id}/r${r}: ${res.status} ${res.text.slice(0, 100)}`);
      }
    }),
  );
  return { checked, wrong, statuses };
}

async function bench(store: Store): Promise<Record<string, unknown>> {
  const b = await backend(store);
  const cwd = tempDir(`proximadb-bench-faults-${store}-`);
  const storage = Object.fromEntries(
    Object.entries(COMPONENTS).map(([c, key]) => [
      `storage.${c}_config`,
      { [key]: [b.root(c, 0), b.root(c, 1)], ...(c === "wal" ? { sync: "batch" } : {}) },
    ]),
  );
  writeFileSync(
    join(cwd, "proximadb.toml"),
    configToml({ ...storage, ...b.tables, server: { node_id: `bench-${store}` } }),
  );
  const ids = Array.from({ length: WRITERS }, (_, i) => `w${i}`);
  const acked = new Map<string, number[]>();
  const next = ids.map(() => 0);
  const phases: Record<string, Phase> = {};
  const startups: Record<string, number[]> = {};
  const proxyStats: Record<string, unknown> = {};
  const timings: Record<string, Record<string, number>[]> = {};
  const failedStarts: { rate: string; error: string }[] = [];
  let node: RunningNode | undefined;
  try {
    const first = await start(cwd, b.env);
    node = first.node;
    for (const [c, id] of ids.entries())
      await must(node, "POST", "/collections", { id, engine: c % 2 ? "lsm" : "viper", dimension: DIM }, 201);
    // A warm-up (connections, first segments), then per rate a fault-free phase and a faulty one.
    await ingest(node, ids, acked, next, 3);
    for (const rate of RATES) {
      b.proxy.setFaults({ errorRate: 0, resetRate: 0 });
      b.proxy.resetStats();
      phases[`no faults before ${rate.name}`] = await ingest(node, ids, acked, next);
      b.proxy.setFaults({ errorRate: rate.errorRate, resetRate: rate.resetRate });
      b.proxy.resetStats();
      phases[rate.name] = await ingest(node, ids, acked, next);
      proxyStats[rate.name] = { ...b.proxy.stats };
    }
    // kill -9 and restart, RESTARTS times without faults and at each rate.
    for (const rate of [{ name: "no faults", errorRate: 0, resetRate: 0 }, ...RATES]) {
      for (let run = 0; run < RESTARTS; run++) {
        b.proxy.setFaults({ errorRate: 0, resetRate: 0 });
        await node?.stop("SIGKILL");
        node = undefined;
        b.proxy.setFaults({ errorRate: rate.errorRate, resetRate: rate.resetRate });
        try {
          const again = await start(cwd, b.env);
          node = again.node;
          const open = node.logs.map(parseLine).find((l) => l?.msg === "engines open");
          startups[rate.name] = [...(startups[rate.name] ?? []), again.ms];
          timings[rate.name] = [...(timings[rate.name] ?? []), open?.timings ?? {}];
        } catch (err) {
          // A start-up that gave up (the node exits rather than serve with a root it could not read).
          failedStarts.push({ rate: rate.name, error: String(err).slice(0, 300) });
          console.log(`  start-up at ${rate.name} failed: ${String(err).split("\n")[0]}`);
        }
      }
    }
    b.proxy.setFaults({ errorRate: 0, resetRate: 0 });
    node ??= (await start(cwd, b.env)).node;
    const back = await readBack(node, ids, acked);
    const startClean = median(startups["no faults"] ?? []);
    const count500 = Object.values(phases).reduce((n, p) => n + (p.statuses["500"] ?? 0), 0);
    const row: Record<string, unknown> = { store };
    for (const rate of RATES) {
      const clean = (phases[`no faults before ${rate.name}`] as Phase).perSecond;
      const p = phases[rate.name] as Phase;
      row[`rec/s clean→${rate.name}`] = `${Math.round(clean)}→${Math.round(p.perSecond)}`;
      row[`× ${rate.name}`] = clean > 0 ? p.perSecond / clean : 0;
    }
    row["start ms"] = Math.round(startClean);
    for (const rate of RATES) {
      const ms = median(startups[rate.name] ?? []);
      row[`start ms ${rate.name}`] = Math.round(ms);
      row[`start × ${rate.name}`] = startClean > 0 ? ms / startClean : 0;
    }
    row.acked = [...acked.values()].reduce((n, l) => n + l.length, 0);
    row.lost = back.wrong.length;
    row["500s"] = count500;
    row["failed starts"] = failedStarts.length;
    return {
      row,
      phases,
      startups,
      startupTimings: timings,
      failedStarts,
      proxyStats,
      readBack: {
        checked: back.checked,
        lost: back.wrong.length,
        statuses: back.statuses,
        sample: back.wrong.slice(0, 5),
      },
    };
  } finally {
    await node?.stop("SIGTERM").catch(() => undefined);
    await b.stop();
  }
}

const results: Record<string, unknown> = {};
const rows: Record<string, unknown>[] = [];
for (const store of STORES) {
  const r = (await bench(store)) as { row: Record<string, unknown> };
  results[store] = r;
  rows.push(r.row);
  printTable(`node-faults: ${store} (phases of ${SECONDS} s; statuses per phase in the JSON)`, [r.row]);
  for (const [name, p] of Object.entries((r as unknown as { phases: Record<string, Phase> }).phases))
    console.log(`  ${name}: ${p.records} records, statuses ${JSON.stringify(p.statuses)}`);
}
printTable(
  `node-faults: records/s through the node (4 writers × batches of 10, ${SECONDS} s per phase) and start-up after kill -9, behind the fault proxy (503 + resets)`,
  rows,
);
writeResult("node", "node-faults", {
  seconds: SECONDS,
  writers: WRITERS,
  batch: BATCH,
  retryAfterSeconds: RETRY_AFTER === undefined ? null : Number(RETRY_AFTER),
  rows,
  results,
});
