// Search through the HTTP API against the real built binary: 10,000 random vectors of dimension 128
// (cosine, default index settings) per engine, flushed and indexed, then k = 10 queries from 16 concurrent
// clients. Also: the background index build time and recall@10 against brute force on 100 queries.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { printTable, writeResult } from "../../../bench/lib.ts";
import { embeddedDefaultToml } from "../src/default-config.ts";
import { seededRandom as random } from "@proximadb/testing/random";
import { startNode, tempDir } from "../test/helpers.ts";
import { cosine, must, pool } from "../test/search-support.ts";

const DIM = 128;
const N = 10_000;
const CLIENTS = 16;
const QUERIES = 2000;
const WARMUP = 200;
const RECALL_QUERIES = 100;

const rnd = random(42);
const vec = () => Array.from({ length: DIM }, () => rnd() * 2 - 1);
const vectors = Array.from({ length: N }, vec);
const queries = Array.from({ length: QUERIES + WARMUP }, vec);

async function run(engine: "viper" | "lsm"): Promise<Record<string, unknown>> {
  const dir = tempDir("proximadb-bench-");
  writeFileSync(join(dir, "proximadb.toml"), embeddedDefaultToml());
  const node = await startNode(dir, ["--config", "proximadb.toml"]);
  try {
    const id = `search-${engine}`;
    await must(node, "POST", "/collections", { id, engine, dimension: DIM }, 201);
    for (let i = 0; i < N; i += 500) {
      const records = vectors.slice(i, i + 500).map((vector, j) => ({ id: `r${i + j}`, vector }));
      await must(node, "POST", `/collections/${id}/records`, { records });
    }
    const t0 = performance.now();
    await must(node, "POST", `/collections/${id}/flush`);
    for (;;) {
      const { index } = await must(node, "GET", `/collections/${id}`);
      if (index.state === "ready" && index.lag === 0 && index.pending === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const buildS = (performance.now() - t0) / 1000;
    const answers: string[][] = [];
    const ask = async (vector: number[], i: number) => {
      const r = await node.pool.request({
        method: "POST",
        path: `/collections/${id}/search`,
        body: JSON.stringify({ vector, k: 10 }),
        headers: { "content-type": "application/json" },
      });
      const json = (await r.body.json()) as { results: { id: string }[]; exact: boolean };
      if (r.statusCode !== 200 || json.exact) throw new Error(`search: ${r.statusCode}`);
      if (i < RECALL_QUERIES) answers[i] = json.results.map((h) => h.id);
    };
    await pool(CLIENTS, queries.slice(0, WARMUP), (q) => ask(q, -1));
    const t1 = performance.now();
    const timed = queries.slice(WARMUP).map((q, i) => ({ q, i }));
    await pool(CLIENTS, timed, ({ q, i }) => ask(q, i));
    const qps = QUERIES / ((performance.now() - t1) / 1000);
    let hits = 0;
    for (let i = 0; i < RECALL_QUERIES; i++) {
      const q = queries[WARMUP + i] as number[];
      const truth = new Set(
        vectors
          .map((v, j) => ({ j, d: cosine(q, v) }))
          .sort((a, b) => a.d - b.d)
          .slice(0, 10)
          .map((x) => `r${x.j}`),
      );
      hits += (answers[i] as string[]).filter((x) => truth.has(x)).length;
    }
    return {
      engine,
      vectors: N,
      dim: DIM,
      clients: CLIENTS,
      "flush→indexed s": Number(buildS.toFixed(1)),
      "queries/s": Math.round(qps),
      "recall@10": Number((hits / (RECALL_QUERIES * 10)).toFixed(3)),
    };
  } finally {
    await node.stop("SIGTERM");
  }
}

const rows = [await run("lsm"), await run("viper")];
printTable(
  "node-search: k = 10 queries/s through the HTTP API (16 clients, dim 128, cosine, 10,000 vectors)",
  rows,
);
writeResult("node", "node-search", { rows });
