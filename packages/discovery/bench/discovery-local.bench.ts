// discovery-local: 10,000 collections × 10 files over 4 local roots; discovery beside `find | wc -l`.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFileSystem } from "@proximadb/fs-local";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.ts";
import { discover } from "../src/index.ts";

const COLLECTIONS = 10_000;
const FILES = 10;
const ROOTS = 4;
const base = join(tmpdir(), "proximadb-discovery-bench-local");
const roots = Array.from({ length: ROOTS }, (_, i) => join(base, `root-${i}`));
const done = join(base, ".generated");

async function generate(): Promise<void> {
  if (existsSync(done)) return;
  console.log(`generating ${COLLECTIONS} collections × ${FILES} files under ${base} (once)…`);
  for (let c = 0; c < COLLECTIONS; c++) {
    const dir = join(roots[c % ROOTS] as string, `coll-${String(c).padStart(5, "0")}`, "level-0");
    await mkdir(dir, { recursive: true });
    await Promise.all(
      Array.from({ length: FILES }, (_, f) => writeFile(join(dir, `${String(f).padStart(6, "0")}.sst`), "x")),
    );
  }
  await writeFile(done, new Date().toISOString());
}

await generate();
const fileSystems = roots.map((r) => new LocalFileSystem(`file://${r}`));
let report = await discover({ component: "lsm", roots: fileSystems });
const discoveryMs = await timeRuns(async () => {
  report = await discover({ component: "lsm", roots: fileSystems });
}, 5);
let found = 0;
const findMs = await timeRuns(() => {
  found = Number(
    execFileSync("sh", ["-c", `find ${roots.join(" ")} -type f | wc -l`])
      .toString()
      .trim(),
  );
}, 5);
// find with size and mtime: the same facts discovery reads (it must stat every file; plain find does not).
const findStatMs = await timeRuns(() => {
  execFileSync("sh", ["-c", `find ${roots.join(" ")} -type f -printf '%s %T@\\n' | wc -l`]);
}, 5);
const collections = Object.keys(report.collections).length;
const files = report.roots.reduce((n, r) => n + r.files, 0);
const rows = [
  { method: "discover()", medianMs: median(discoveryMs), files, collections },
  { method: "find | wc -l", medianMs: median(findMs), files: found, collections: "" },
  { method: "find -printf size,mtime", medianMs: median(findStatMs), files: found, collections: "" },
];
printTable(
  `discovery-local: ${COLLECTIONS} collections × ${FILES} files over ${ROOTS} local roots (median of 5)`,
  rows,
);
const ratio = median(discoveryMs) / median(findMs);
const statRatio = median(discoveryMs) / median(findStatMs);
console.log(
  `ratio discover/find: ${ratio.toFixed(2)}× (goal ≤ 1.5×); discover/find-with-stat: ${statRatio.toFixed(2)}×`,
);
writeResult("discovery", "discovery-local", {
  shape: { collections: COLLECTIONS, filesPerCollection: FILES, roots: ROOTS },
  discoveryMs,
  findMs,
  medianDiscoveryMs: median(discoveryMs),
  medianFindMs: median(findMs),
  ratio,
  findStatMs,
  medianFindStatMs: median(findStatMs),
  ratioVsFindWithStat: statRatio,
  filesFound: files,
  collectionsFound: collections,
  listRequests: report.requests,
});
