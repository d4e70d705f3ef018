#!/usr/bin/env node
// library-choice: the measurement behind @proximadb/index's choice of ANN library (see the README).
// Builds an HNSW index over 20,000 vectors of dimension 128 (uniform random, and clustered) with each
// candidate at the same graph settings (M = 16, efConstruction = 200), then runs 1,000 single queries at
// several ef values: build time, queries/s (one query per call, one thread) and recall@10 against exact
// brute force. Plain JavaScript whose one workspace import is the seeded data of @proximadb/testing/random
// (built by `pnpm build`; the index tests use the same vectors), so the candidates need not be dependencies:
//
//   mkdir -p /tmp/ann && cd /tmp/ann && npm init -y && npm i usearch@2.25.3 hnswlib-node@3.0.0
//   node packages/index/bench/library-choice.mjs /tmp/ann
//
// A candidate that does not load from that folder is reported as missing. Assertion-free.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join, resolve } from "node:path";
import { seededVectors } from "@proximadb/testing/random";

const dir = resolve(process.argv[2] ?? process.cwd());
const require = createRequire(join(dir, "package.json"));
const N = Number(process.env.CHOICE_N ?? 20_000);
const D = 128;
const Q = Number(process.env.CHOICE_QUERIES ?? 1_000);
const K = 10;
const M = 16;
const EF_CONSTRUCTION = 200;
const EFS = [16, 32, 64, 128, 256];

/** `n` rows of dimension D: uniform in [-1, 1), or around 100 Gaussian centres (sigma 0.1). */
const dataset = (kind, n, seed) => seededVectors(kind, n, D, seed);

function truth(base, queries) {
  const out = [];
  for (let q = 0; q < Q; q++) {
    const best = [];
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) {
        const d = base[i * D + j] - queries[q * D + j];
        s += d * d;
      }
      if (best.length < K || s < best[best.length - 1][1]) {
        best.push([i, s]);
        best.sort((a, b) => a[1] - b[1]);
        if (best.length > K) best.pop();
      }
    }
    out.push(new Set(best.map((b) => b[0])));
  }
  return out;
}

function recall(found, expected) {
  let hit = 0;
  for (let q = 0; q < Q; q++) for (const id of found[q]) if (expected[q].has(id)) hit++;
  return hit / (Q * K);
}

function versionOf(name) {
  return JSON.parse(readFileSync(join(dir, "node_modules", name, "package.json"), "utf8")).version;
}

function load(name) {
  try {
    return require(name);
  } catch (err) {
    return { missing: String(err.message).split("\n")[0] };
  }
}

const usearch = load("usearch");
const hnswlib = load("hnswlib-node");

/** Each candidate: build(base) → index, search(index, query, ef) → number[] of labels. */
const candidates = [];
if (!usearch.missing) {
  for (const threads of [1, 0]) {
    candidates.push({
      name: `usearch ${versionOf("usearch")} (add threads=${threads === 0 ? "all" : threads})`,
      build(base) {
        const index = new usearch.Index({
          dimensions: D,
          metric: "l2sq",
          connectivity: M,
          expansion_add: EF_CONSTRUCTION,
          expansion_search: EFS[0],
        });
        const keys = new BigUint64Array(N);
        for (let i = 0; i < N; i++) keys[i] = BigInt(i);
        index.add(keys, base, threads);
        return index;
      },
      // usearch searches with max(wanted, expansion_search): asking for ef results and keeping K is ef.
      search(index, query, ef) {
        const m = index.search(query, Math.max(ef, K), 1);
        const out = [];
        for (let i = 0; i < Math.min(K, m.keys.length); i++) out.push(Number(m.keys[i]));
        return out;
      },
    });
  }
}
if (!hnswlib.missing) {
  candidates.push({
    name: `hnswlib-node ${versionOf("hnswlib-node")}`,
    build(base) {
      const index = new hnswlib.HierarchicalNSW("l2", D);
      index.initIndex({ maxElements: N, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
      for (let i = 0; i < N; i++) index.addPoint(Array.from(base.subarray(i * D, (i + 1) * D)), i);
      return index;
    },
    search(index, query, ef) {
      if (index.getEf() !== ef) index.setEf(ef);
      return index.searchKnn(Array.from(query), K).neighbors;
    },
  });
}

console.log(`library-choice: N=${N} D=${D} queries=${Q} k=${K} M=${M} efConstruction=${EF_CONSTRUCTION}`);
console.log(
  `node ${process.version}, ${os.cpus().length} cpus, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
if (usearch.missing) console.log(`usearch: missing (${usearch.missing})`);
if (hnswlib.missing) console.log(`hnswlib-node: missing (${hnswlib.missing})`);
const rows = [];
for (const kind of ["random", "clustered"]) {
  const base = dataset(kind, N, 1);
  const queries = dataset(kind, Q, 2);
  const t0 = performance.now();
  const expected = truth(base, queries);
  console.log(`\n${kind}: exact ground truth in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const c of candidates) {
    const b0 = performance.now();
    const index = c.build(base);
    const buildS = (performance.now() - b0) / 1000;
    for (const ef of EFS) {
      const found = [];
      const s0 = performance.now();
      for (let q = 0; q < Q; q++) found.push(c.search(index, queries.subarray(q * D, (q + 1) * D), ef));
      const qps = Q / ((performance.now() - s0) / 1000);
      const row = {
        data: kind,
        library: c.name,
        buildS: +buildS.toFixed(2),
        ef,
        qps: Math.round(qps),
        recall10: +recall(found, expected).toFixed(4),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
}
console.log(
  `\nload average after: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
