// index-search: 100,000 vectors of dimension 128 (uniform random, fixed seed), cosine, k = 10, the engine's
// default graph settings. The same build and the same 1,000 queries run through @proximadb/index (on a local
// disk root in os.tmpdir()) and through hnswlib-node called directly, in the same run: build time, save and
// load time, queries/s (one query per call) and recall@10 against exact brute force at several ef values.
// Both build the same graph (same seed, same insertion order), so equal ef is equal recall.
// Prints a table and writes bench/results/index-index-search.json. Assertion-free.
//
// Run: pnpm --filter @proximadb/index bench   (INDEX_BENCH_N / INDEX_BENCH_QUERIES to change the sizes)
import { createRequire } from "node:module";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { seededRandom } from "@proximadb/testing/fault-proxy";
import { printTable, writeResult } from "../../../bench/lib.js";
import { DEFAULT_INDEX_SETTINGS, IndexEngine, type IndexRecord } from "../src/index.js";

const { HierarchicalNSW } = createRequire(import.meta.url)("hnswlib-node") as typeof import("hnswlib-node");

const N = Number(process.env.INDEX_BENCH_N ?? 100_000);
const Q = Number(process.env.INDEX_BENCH_QUERIES ?? 1_000);
const D = 128;
const K = 10;
const EFS = [64, 128, 256];
const { m: M, efConstruction: EF_CONSTRUCTION } = DEFAULT_INDEX_SETTINGS;

function uniform(count: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(count * D);
  for (let i = 0; i < out.length; i++) out[i] = next() * 2 - 1;
  return out;
}

const row = (flat: Float32Array, i: number) => flat.subarray(i * D, (i + 1) * D);

/** Exact top-k by cosine distance, over unit-normalised copies. */
function groundTruth(base: Float32Array, queries: Float32Array): Set<number>[] {
  const normalise = (flat: Float32Array) => {
    const out = new Float32Array(flat.length);
    for (let i = 0; i < flat.length / D; i++) {
      let n = 0;
      for (let j = 0; j < D; j++) n += (flat[i * D + j] as number) ** 2;
      n = Math.sqrt(n);
      for (let j = 0; j < D; j++) out[i * D + j] = (flat[i * D + j] as number) / n;
    }
    return out;
  };
  const b = normalise(base);
  const q = normalise(queries);
  const out: Set<number>[] = [];
  for (let qi = 0; qi < Q; qi++) {
    const best: [number, number][] = [];
    for (let i = 0; i < N; i++) {
      let dot = 0;
      for (let j = 0; j < D; j++) dot += (b[i * D + j] as number) * (q[qi * D + j] as number);
      const d = 1 - dot;
      if (best.length < K || d < (best[best.length - 1] as [number, number])[1]) {
        best.push([i, d]);
        best.sort((x, y) => x[1] - y[1]);
        if (best.length > K) best.pop();
      }
    }
    out.push(new Set(best.map((x) => x[0])));
  }
  return out;
}

function recall(found: number[][], truth: Set<number>[]): number {
  let hit = 0;
  for (let q = 0; q < Q; q++)
    for (const id of found[q] as number[]) if ((truth[q] as Set<number>).has(id)) hit++;
  return hit / (Q * K);
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const load = () => os.loadavg().map((l) => Number(l.toFixed(2)));

console.log(
  `index-search: N=${N} D=${D} queries=${Q} k=${K} M=${M} efConstruction=${EF_CONSTRUCTION}, cosine`,
);
const loadBefore = load();
console.log(`load average before: ${loadBefore.join(" ")}`);
const base = uniform(N, 1);
const queries = uniform(Q, 2);
let t0 = performance.now();
const truth = groundTruth(base, queries);
console.log(`exact ground truth: ${seconds(t0).toFixed(1)} s`);

// The library, called directly.
t0 = performance.now();
const lib = new HierarchicalNSW("cosine", D);
lib.initIndex({ maxElements: N, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
for (let i = 0; i < N; i++) lib.addPoint(Array.from(row(base, i)), i);
const libBuildS = seconds(t0);
console.log(`hnswlib-node build: ${libBuildS.toFixed(1)} s`);

// The engine, on a local disk root.
const dir = await mkdtemp(join(os.tmpdir(), "index-bench-"));
const rootDir = join(dir, "root");
await mkdir(rootDir);
const open = () =>
  IndexEngine.open({
    service: new AssignmentService({ components: { index: { roots: [`file://${rootDir}`] } } }),
    openFileSystem: (r) => new LocalFileSystem(r),
    nodeId: "bench",
  });
let engine = await open();
const records: IndexRecord[] = Array.from({ length: N }, (_, i) => ({ id: String(i), vector: row(base, i) }));
t0 = performance.now();
await engine.create("bench", { dimension: D, metric: "cosine" });
for (let i = 0; i < N; i += 10_000) await engine.add("bench", records.slice(i, i + 10_000));
const engineBuildS = seconds(t0);
t0 = performance.now();
const saved = await engine.flush("bench");
const saveS = seconds(t0);
await engine.close();
engine = await open();
t0 = performance.now();
await engine.stats("bench");
const loadS = seconds(t0);
console.log(
  `engine build: ${engineBuildS.toFixed(1)} s, save ${saveS.toFixed(2)} s (${saved.hnswBytes} bytes), load ${loadS.toFixed(2)} s`,
);

const rows: Record<string, unknown>[] = [];
for (const ef of EFS) {
  const libFound: number[][] = [];
  t0 = performance.now();
  lib.setEf(ef);
  for (let q = 0; q < Q; q++) libFound.push(lib.searchKnn(Array.from(row(queries, q)), K).neighbors);
  const libQps = Q / seconds(t0);
  const engineFound: number[][] = [];
  t0 = performance.now();
  for (let q = 0; q < Q; q++) {
    const hits = await engine.search("bench", row(queries, q), { k: K, ef });
    engineFound.push(hits.map((h) => Number(h.id)));
  }
  const engineQps = Q / seconds(t0);
  rows.push({
    ef,
    libraryQps: Math.round(libQps),
    libraryRecall10: Number(recall(libFound, truth).toFixed(4)),
    engineQps: Math.round(engineQps),
    engineRecall10: Number(recall(engineFound, truth).toFixed(4)),
    engineOverLibrary: Number((engineQps / libQps).toFixed(3)),
  });
}
await engine.close();
await rm(dir, { recursive: true, force: true });
const loadAfter = load();

printTable("queries (one per call, k = 10)", rows);
printTable("build", [
  { what: "hnswlib-node direct", buildS: Number(libBuildS.toFixed(1)) },
  {
    what: "@proximadb/index add()",
    buildS: Number(engineBuildS.toFixed(1)),
    saveS: Number(saveS.toFixed(2)),
    loadS: Number(loadS.toFixed(2)),
  },
]);
console.log(`\nload average after: ${loadAfter.join(" ")}`);
writeResult("index", "index-search", {
  vectors: N,
  dimension: D,
  queries: Q,
  k: K,
  metric: "cosine",
  settings: DEFAULT_INDEX_SETTINGS,
  library: "hnswlib-node 3.0.0",
  build: {
    libraryS: libBuildS,
    engineS: engineBuildS,
    engineSaveS: saveS,
    engineLoadS: loadS,
    hnswBytes: saved.hnswBytes,
  },
  search: rows,
  loadAverage: { before: loadBefore, after: loadAfter },
});
