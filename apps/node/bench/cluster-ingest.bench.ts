// cluster-ingest (issue #15): records/s through 3 nodes beside 1 node on one etcd and the same local roots
// (clients send each batch to the collection's owner; a second figure through random nodes following
// 307s), and failover seconds: kill -9 of an owner → first write acknowledged by the new owner, ≥ 10
// samples, lease TTL 2 s. All processes share this machine's cores: the ratio is CPU-bound, not a
// scaling figure.
import { cpus, loadavg } from "node:os";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { TestCluster, Writers, call, createCollections } from "../test/cluster-support.ts";

const DIM = 32;
const BATCH = 100;
const CLIENTS = 8;
const REQUESTS = 240; // 24,000 records per run
const COLLECTIONS = 12;

function body(offset: number): string {
  return JSON.stringify({
    records: Array.from({ length: BATCH }, (_, i) => ({
      id: `r${offset + i}`,
      vector: Array.from({ length: DIM }, (_, d) => (((offset + i) * 31 + d) % 97) / 97),
    })),
  });
}

async function ingest(names: string[], routing: "owner" | "random"): Promise<Record<string, unknown>> {
  const cluster = await TestCluster.start(names);
  try {
    const ids = Array.from({ length: COLLECTIONS }, (_, i) => `ingest-${i}`);
    for (const [i, id] of ids.entries()) {
      const a = await call(cluster.live()[i % names.length]?.url as string, "POST", "/collections", {
        id,
        dimension: DIM,
        engine: i % 2 === 0 ? "viper" : "lsm",
      });
      if (a.status !== 201) throw new Error(`create ${id}: ${a.status} ${JSON.stringify(a.json)}`);
    }
    const owners = await cluster.owners();
    const urlOf = (c: string) =>
      routing === "owner"
        ? cluster.node(owners.get(c)?.owner as string).url
        : (cluster.live()[Math.floor(Math.random() * names.length)]?.url as string);
    let next = 0;
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < REQUESTS) {
          const n = next++;
          const c = ids[n % ids.length] as string;
          const res = await fetch(`${urlOf(c)}/collections/${c}/records`, {
            method: "POST",
            body: body(n * BATCH),
            headers: { "content-type": "application/json" },
          });
          const text = await res.text();
          if (res.status !== 200) {
            failed++;
            if (failed === 1) console.log(`first failure: ${res.status} ${text}`);
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    if (failed > 0) throw new Error(`${failed} of ${REQUESTS} batches failed`);
    return {
      nodes: names.length,
      routing,
      records: REQUESTS * BATCH,
      failed,
      "records/s": Math.round((REQUESTS * BATCH) / seconds),
    };
  } finally {
    await cluster.stop();
  }
}

async function failover(
  minSamples: number,
): Promise<{ samples: number[]; spread: Record<string, number>[] }> {
  const cluster = await TestCluster.start(["n1", "n2", "n3"]);
  const samples: number[] = [];
  const spread: Record<string, number>[] = [];
  try {
    const ids = await createCollections(cluster, COLLECTIONS);
    const writers = new Writers(cluster, ids, 6);
    for (let round = 0; samples.length < minSamples && round < 10; round++) {
      await new Promise((r) => setTimeout(r, 1500));
      const before = await cluster.owners();
      const victim = ["n1", "n2", "n3"][round % 3] as string;
      const owned = ids.filter((c) => before.get(c)?.owner === victim);
      if (owned.length === 0) continue;
      const killedAt = Date.now();
      cluster.node(victim).child.kill("SIGKILL");
      await cluster.node(victim).exited;
      await cluster.waitFor(
        () => owned.every((c) => (writers.acked.get(c) ?? []).some((a) => a.at > killedAt)),
        "taken over",
      );
      for (const c of owned) {
        const first = (writers.acked.get(c) ?? []).find((a) => a.at > killedAt);
        if (first) samples.push((first.at - killedAt) / 1000);
      }
      const after = await cluster.owners();
      const to: Record<string, number> = {};
      for (const c of owned) to[after.get(c)?.owner as string] = (to[after.get(c)?.owner as string] ?? 0) + 1;
      spread.push(to);
      await cluster.startNode(victim);
    }
    await writers.stop();
    // Every acknowledged record is still there (a spot check of the last 200).
    const last = [...writers.acked.entries()].flatMap(([c, l]) => l.slice(-20).map((r) => ({ c, id: r.id })));
    for (const { c, id } of last) {
      const a = await call(cluster.live()[0]?.url as string, "GET", `/collections/${c}/records/${id}`);
      if (a.status !== 200) throw new Error(`acknowledged ${c}/${id} missing (${a.status})`);
    }
  } finally {
    await cluster.stop();
  }
  return { samples, spread };
}

const rows = [
  await ingest(["solo"], "owner"),
  await ingest(["n1", "n2", "n3"], "owner"),
  await ingest(["n1", "n2", "n3"], "random"),
];
const ratio = (rows[1]?.["records/s"] as number) / (rows[0]?.["records/s"] as number);
printTable(
  `cluster-ingest: records/s (${CLIENTS} clients, dim ${DIM}, batch ${BATCH}, ${cpus().length} cores shared)`,
  [...rows, { nodes: "3 vs 1", routing: "owner", "records/s": `${ratio.toFixed(2)}×` }],
);
const { samples, spread } = await failover(10);
const fig = {
  samples: samples.length,
  medianSeconds: median(samples),
  maxSeconds: Math.max(...samples),
  leaseTtlMs: 2000,
};
printTable("failover: kill -9 → first write acknowledged by the new owner (TTL 2 s)", [fig]);
console.log("takeover spread per kill (collections → survivor):", JSON.stringify(spread));
console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}`,
);
writeResult("node", "cluster-ingest", {
  ingest: rows,
  ratio3to1: ratio,
  failover: { ...fig, samplesSeconds: samples, spread },
  loadavg: loadavg(),
});
