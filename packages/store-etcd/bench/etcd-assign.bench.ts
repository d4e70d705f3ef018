// etcd-assign: placements/s with 1 and 3 nodes (new collections), cached get ops/s, and etcd round
// trips (transactions) per placement. Nodes are AssignmentServices with their own EtcdAssignmentStore
// and gRPC connection, in this process. Run: pnpm --filter @proximadb/store-etcd bench
import { AssignmentService } from "@proximadb/core";
import { startEtcd } from "@proximadb/testing/emulators/etcd";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { EtcdAssignmentStore } from "../src/index.js";

const ROOTS = ["file:///mnt/a/wal", "file:///mnt/b/wal", "file:///mnt/c/wal"];
const PLACEMENTS = 3000;
const RUNS = 3;
const CONCURRENCY = 64;

const etcd = await startEtcd();
let seq = 0;

async function placeRun(nodes: number): Promise<{ ms: number; txPerPlacement: number }> {
  const cluster = `bench-${seq++}`;
  const stores = Array.from(
    { length: nodes },
    () => new EtcdAssignmentStore({ hosts: etcd.endpoint, cluster }),
  );
  const services = stores.map(
    (s) => new AssignmentService({ store: s, components: { wal: { roots: ROOTS, strategy: "RoundRobin" } } }),
  );
  await Promise.all(services.map((s) => s.load()));
  const ids = Array.from({ length: PLACEMENTS }, (_, i) => `c${i}`);
  const t0 = performance.now();
  await Promise.all(
    services.map(async (service, n) => {
      const order = n % 2 ? [...ids].reverse() : ids;
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < order.length) await service.assign(order[next++] as string, "wal");
        }),
      );
    }),
  );
  const ms = performance.now() - t0;
  const tx = stores.reduce((n, s) => n + s.metrics.transactions, 0);
  for (const s of services) s.close();
  await Promise.all(stores.map((s) => s.close()));
  return { ms, txPerPlacement: tx / PLACEMENTS };
}

const rows: Record<string, unknown>[] = [];
const figures: Record<string, unknown> = {};
for (const nodes of [1, 3]) {
  await placeRun(nodes); // warm-up
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await placeRun(nodes));
  const ms = median(runs.map((r) => r.ms));
  const perSec = (PLACEMENTS / ms) * 1000;
  const tx = median(runs.map((r) => r.txPerPlacement));
  rows.push({
    case: `place ${PLACEMENTS} new collections, ${nodes} node(s)`,
    "median ms": ms,
    "placements/s": perSec,
    "etcd txns/placement": tx,
  });
  figures[`nodes${nodes}`] = {
    placements: PLACEMENTS,
    medianMs: ms,
    placementsPerSec: perSec,
    txnsPerPlacement: tx,
    runs: runs.map((r) => r.ms),
  };
}

// Cached get: a memory read, no etcd round trip.
{
  const store = new EtcdAssignmentStore({ hosts: etcd.endpoint, cluster: "bench-0" });
  await store.start();
  const ids = Array.from({ length: PLACEMENTS }, (_, i) => `c${i}` as never);
  const N = 1_000_000;
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await store.get("wal", ids[i % ids.length] as never);
    runs.push(performance.now() - t0);
  }
  const ms = median(runs);
  rows.push({
    case: `cached get x ${N}`,
    "median ms": ms,
    "gets/s": (N / ms) * 1000,
    "etcd txns/placement": 0,
  });
  figures.cachedGet = { ops: N, medianMs: ms, opsPerSec: (N / ms) * 1000, runs };
  await store.close();
}

printTable(
  `etcd-assign (etcd ${etcd.endpoint}, batch ≤100 placements/txn, ${CONCURRENCY} concurrent assigns per node)`,
  rows,
);
writeResult("store-etcd", "etcd-assign", figures);
await etcd.stop();
