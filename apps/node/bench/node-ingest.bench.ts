// Ingest through the HTTP API (16 concurrent clients, dimension 128, batches of 100, sync = "batch")
// and restart time with 1,000 collections on 3 roots, against the real built binary.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { embeddedDefaultToml } from "../src/default-config.ts";
import { startNode, tempDir } from "../test/helpers.ts";
import { must, pool } from "../test/search-support.ts";

const DIM = 128;
const BATCH = 100;
const CLIENTS = 16;
const REQUESTS_PER_RUN = 200; // 20,000 records per run
const RUNS = 3;
const RESTART_COLLECTIONS = 1000;

function batch(offset: number): { id: string; vector: number[]; metadata: { n: number } }[] {
  return Array.from({ length: BATCH }, (_, i) => ({
    id: `r${offset + i}`,
    vector: Array.from({ length: DIM }, (_, d) => (((offset + i) * 31 + d) % 97) / 97),
    metadata: { n: offset + i },
  }));
}

async function ingest(): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const engine of ["viper", "lsm"] as const) {
    const dir = tempDir("proximadb-bench-");
    writeFileSync(join(dir, "proximadb.toml"), embeddedDefaultToml());
    const node = await startNode(dir, ["--config", "proximadb.toml"]);
    try {
      // One collection per client: each client's appends are group-committed with nobody else's.
      const ids = Array.from({ length: CLIENTS }, (_, i) => `bench-${engine}-${i}`);
      for (const id of ids) await must(node, "POST", "/collections", { id, engine, dimension: DIM }, 201);
      const bodies = Array.from({ length: REQUESTS_PER_RUN }, (_, i) =>
        JSON.stringify({ records: batch(i * BATCH) }),
      );
      const rates: number[] = [];
      for (let run = 0; run < RUNS + 1; run++) {
        let k = 0;
        const t0 = performance.now();
        await pool(
          CLIENTS,
          bodies.map((b, i) => ({ b, id: ids[i % CLIENTS] as string })),
          async ({ b, id }) => {
            const r = await node.pool.request({
              method: "POST",
              path: `/collections/${id}/records`,
              body: b,
              headers: { "content-type": "application/json" },
            });
            await r.body.text();
            if (r.statusCode !== 200) throw new Error(`ingest: ${r.statusCode}`);
            k++;
          },
        );
        const s = (performance.now() - t0) / 1000;
        if (run > 0) rates.push((k * BATCH) / s); // run 0 warms up
      }
      rows.push({
        engine,
        clients: CLIENTS,
        dim: DIM,
        batch: BATCH,
        "records/s (median)": Math.round(median(rates)),
        runs: rates.map(Math.round).join(" / "),
      });
    } finally {
      await node.stop("SIGTERM");
    }
  }
  return rows;
}

async function restart(): Promise<Record<string, unknown>> {
  const dir = tempDir("proximadb-bench-");
  let node = await startNode(dir);
  const ids = Array.from({ length: RESTART_COLLECTIONS }, (_, i) => `c${String(i).padStart(4, "0")}`);
  await pool(16, ids, async (id) => {
    const engine = Number(id.slice(1)) % 2 === 0 ? "viper" : "lsm";
    await must(node, "POST", "/collections", { id, engine, dimension: 16 }, 201);
    await must(node, "POST", `/collections/${id}/records`, {
      records: [{ id: "a", vector: Array.from({ length: 16 }, (_, d) => d) }],
    });
  });
  await node.stop("SIGTERM");
  const times: number[] = [];
  const phases: Record<string, number>[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    node = await startNode(dir);
    times.push(performance.now() - t0);
    const open = node.logs.map((l) => JSON.parse(l)).find((l) => l.msg === "engines open");
    phases.push(open.timings);
    const listed = await must(node, "GET", "/collections");
    if (listed.collections.length !== RESTART_COLLECTIONS) throw new Error("collections lost on restart");
    await node.stop("SIGTERM");
  }
  const phase = (k: string) => Math.round(median(phases.map((p) => p[k] ?? 0)));
  return {
    collections: RESTART_COLLECTIONS,
    roots: 3,
    "spawn→listening ms (median)": Math.round(median(times)),
    "discovery ms": phase("discovery"),
    "engines ms": phase("engines"),
    "definitions ms": phase("definitions"),
    "recovery ms": phase("recovery"),
  };
}

const ingestRows = await ingest();
printTable(
  "node-ingest: records/s through the HTTP API (16 clients, dim 128, batch 100, sync batch)",
  ingestRows,
);
const restartRow = await restart();
printTable("node restart: 1,000 collections (500 VIPER + 500 LSM) on 3 roots per component", [restartRow]);
writeResult("node", "node-ingest", { ingest: ingestRows, restart: restartRow });
