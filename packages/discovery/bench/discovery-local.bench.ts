// discovery-local: C collections × 10 files over 4 local roots (C = 10,000 and 100,000), discovery at both
// levels beside `find | wc -l` (names) and `find -printf size,mtime` (sizes), and the floor of Node.js
// itself over the same tree: bare loops of readdir (and stat) calls — async, sync, and in worker threads —
// and fs-local's names listing alone (what the names level stands on).
// Rounds are interleaved (every method once per round, after a warm-up round) so a busy machine slows
// every method alike; 5 rounds for 10,000 collections, 3 for larger trees.
// Shapes: DISCOVERY_BENCH_COLLECTIONS=10000,100000 (default both); the trees are generated once under tmpdir.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { LocalFileSystem } from "@proximadb/fs-local";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { discover } from "../src/index.ts";

const FILES = 10;
const ROOTS = 4;
const shapes = (process.env.DISCOVERY_BENCH_COLLECTIONS ?? "10000,100000")
  .split(",")
  .map((s) => Number(s.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);

/** The tree of one shape: 10,000 collections keep the original folder (1-byte files); others get empty files. */
function treeOf(collections: number) {
  const base = join(
    tmpdir(),
    collections === 10_000
      ? "proximadb-discovery-bench-local"
      : `proximadb-discovery-bench-local-${collections}`,
  );
  return { base, roots: Array.from({ length: ROOTS }, (_, i) => join(base, `root-${i}`)) };
}

function generate(collections: number): void {
  const { base, roots } = treeOf(collections);
  const done = join(base, ".generated");
  if (fs.existsSync(done)) return;
  console.log(`generating ${collections} collections × ${FILES} files under ${base} (once)…`);
  const content = collections === 10_000 ? "x" : "";
  const width = String(collections - 1).length;
  for (let c = 0; c < collections; c++) {
    const dir = join(roots[c % ROOTS] as string, `coll-${String(c).padStart(width, "0")}`, "level-0");
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES; f++) fs.writeFileSync(join(dir, `${String(f).padStart(6, "0")}.sst`), content);
  }
  fs.writeFileSync(done, new Date().toISOString());
}

/** Bare async walk: `fs.readdir(withFileTypes)` per folder, 16 in flight; `stat` of each file (64 in flight) when asked. */
function asyncFloor(roots: readonly string[], stat: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const folders = [...roots];
    const files: string[] = [];
    let reading = 0;
    let statted = 0;
    let statting = 0;
    let next = 0;
    let walked = false;
    const finish = () => {
      if (walked && (!stat || statted === files.length)) resolve(files.length);
    };
    const pumpStats = () => {
      while (stat && statting < 64 && next < files.length) {
        statting++;
        fs.stat(files[next++] as string, (err) => {
          if (err) return reject(err);
          statting--;
          statted++;
          pumpStats();
          finish();
        });
      }
    };
    const pump = () => {
      while (reading < 16 && folders.length > 0) {
        const dir = folders.pop() as string;
        reading++;
        fs.readdir(dir, { withFileTypes: true }, (err, entries) => {
          if (err) return reject(err);
          reading--;
          for (const d of entries) (d.isDirectory() ? folders : files).push(`${dir}/${d.name}`);
          if (reading === 0 && folders.length === 0) walked = true;
          else pump();
          pumpStats();
          finish();
        });
      }
    };
    pump();
  });
}

/** Bare sync walk on the main thread: `readdirSync(withFileTypes)` per folder, `statSync` per file when asked. */
function syncFloor(roots: readonly string[], stat: boolean): number {
  const folders = [...roots];
  let files = 0;
  while (folders.length > 0) {
    const dir = folders.pop() as string;
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${d.name}`;
      if (d.isDirectory()) folders.push(path);
      else {
        if (stat) fs.statSync(path);
        files++;
      }
    }
  }
  return files;
}

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const folders = [workerData.root];
const keys = [];
while (folders.length > 0) {
  const dir = folders.pop();
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = dir + "/" + d.name;
    if (d.isDirectory()) folders.push(path);
    else keys.push(path);
  }
}
parentPort.postMessage(keys.join("\\n"));
`;

/** One worker thread per root doing the sync walk, keys sent back as one string (worker start included). */
async function workerFloor(roots: readonly string[]): Promise<number> {
  const counts = await Promise.all(
    roots.map(
      (root) =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(WORKER, { eval: true, workerData: { root } });
          w.once("message", (keys: string) => {
            resolve(keys === "" ? 0 : keys.split("\n").length);
            void w.terminate();
          });
          w.once("error", reject);
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** Keys of one root by fs-local's names listing (`sizes: false`), counted and dropped. */
async function listNames(fs: LocalFileSystem): Promise<number> {
  let n = 0;
  for await (const page of fs.list("", { sizes: false })) n += page.files.length;
  return n;
}

const count = (cmd: string) => Number(execFileSync("sh", ["-c", cmd]).toString().trim());

interface Method {
  name: string;
  run: () => unknown;
}

/** Runs every method once per round (after one warm-up round); durations per method in ms. */
async function interleaved(methods: readonly Method[], rounds: number): Promise<Map<string, number[]>> {
  const out = new Map(methods.map((m) => [m.name, [] as number[]]));
  for (let r = -1; r < rounds; r++) {
    for (const m of methods) {
      const t0 = performance.now();
      await m.run();
      if (r >= 0) out.get(m.name)?.push(performance.now() - t0);
    }
  }
  return out;
}

const results: Record<string, unknown>[] = [];
for (const collections of shapes) {
  generate(collections);
  const { roots } = treeOf(collections);
  const fileSystems = roots.map((r) => new LocalFileSystem(`file://${r}`));
  const names = await discover({ component: "lsm", roots: fileSystems, detail: "names" });
  const sizes = await discover({ component: "lsm", roots: fileSystems });
  const found = count(`find ${roots.join(" ")} -type f | wc -l`);
  const dirs = roots.join(" ");
  const methods: Method[] = [
    {
      name: "discover names",
      run: () => discover({ component: "lsm", roots: fileSystems, detail: "names" }),
    },
    { name: "discover sizes", run: () => discover({ component: "lsm", roots: fileSystems }) },
    // What discovery's names level stands on: fs-local's names listing of the 4 roots at once, no classifying.
    { name: "fs-local list, names only", run: () => Promise.all(fileSystems.map(listNames)) },
    { name: "find | wc -l", run: () => count(`find ${dirs} -type f | wc -l`) },
    { name: "find -printf size,mtime", run: () => count(`find ${dirs} -type f -printf '%s %T@\\n' | wc -l`) },
    { name: "bare loop: readdir", run: () => asyncFloor(roots, false) },
    { name: "bare loop: readdir + stat", run: () => asyncFloor(roots, true) },
    { name: "bare loop: readdirSync", run: () => syncFloor(roots, false) },
    { name: "bare loop: readdirSync + statSync", run: () => syncFloor(roots, true) },
    { name: "bare loop: 4 workers, readdirSync", run: () => workerFloor(roots) },
  ];
  const rounds = collections > 10_000 ? 3 : 5;
  const loadBefore = os.loadavg();
  const times = await interleaved(methods, rounds);
  const loadAfter = os.loadavg();
  const med = (name: string) => median(times.get(name) ?? []);
  const findMs = med("find | wc -l");
  const findStatMs = med("find -printf size,mtime");
  const rows = methods.map((m) => ({
    method: m.name,
    medianMs: med(m.name),
    "× find": med(m.name) / findMs,
    "× find -printf": med(m.name) / findStatMs,
  }));
  printTable(
    `discovery-local: ${collections.toLocaleString("en-US")} collections × ${FILES} files (${found.toLocaleString("en-US")} files) over ${ROOTS} local roots (median of ${rounds} interleaved rounds; load average ${loadBefore[0]?.toFixed(1)} → ${loadAfter[0]?.toFixed(1)})`,
    rows,
  );
  const namesRatio = med("discover names") / findMs;
  const sizesRatio = med("discover sizes") / findStatMs;
  console.log(
    `names: ${namesRatio.toFixed(2)}× find | wc -l (goal ≤ 1.5×), ${(med("discover names") / med("bare loop: readdir")).toFixed(2)}× the bare readdir loop; ` +
      `sizes: ${sizesRatio.toFixed(2)}× find -printf (goal ≤ 1.5×), ${(med("discover sizes") / med("bare loop: readdir + stat")).toFixed(2)}× the bare readdir + stat loop`,
  );
  results.push({
    shape: { collections, filesPerCollection: FILES, roots: ROOTS, files: found },
    rounds,
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadAfter,
    medianMs: Object.fromEntries(methods.map((m) => [m.name, med(m.name)])),
    runsMs: Object.fromEntries(times),
    namesVsFind: namesRatio,
    sizesVsFindPrintf: sizesRatio,
    collectionsFound: {
      names: Object.keys(names.collections).length,
      sizes: Object.keys(sizes.collections).length,
    },
    filesFound: names.roots.reduce((n, r) => n + r.files, 0),
    listRequests: { names: names.requests, sizes: sizes.requests },
  });
}
writeResult("discovery", "discovery-local", { results });
