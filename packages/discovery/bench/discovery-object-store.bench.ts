// discovery-object-store: the local benchmark's shape, scaled down for emulators: 4 roots × 250
// collections × 4 files (4,000 objects) on s3rver, Azurite and the GCS server. Reports LIST requests
// issued (auto plan), both plans' costs and the original design's 1 + C per root, and the time.
import type { FileSystem } from "@proximadb/core";
import { type BackendKind, openBackend, type StorageBackend } from "@proximadb/testing-backends";
import pLimit from "p-limit";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.ts";
import { discover } from "../src/index.ts";

const ROOTS = 4;
const COLLECTIONS = 1000;
const FILES = 4;
const rows: Record<string, unknown>[] = [];

for (const kind of ["s3", "azure", "gcs"] as const satisfies readonly BackendKind[]) {
  let store: StorageBackend;
  try {
    store = await openBackend(kind);
  } catch (err) {
    console.log(`skipped: emulator did not start (${(err as Error).name})`);
    continue;
  }
  try {
    const roots: FileSystem[] = (await store.roots("root", ROOTS)).fileSystems();
    const limit = pLimit(32);
    await Promise.all(
      Array.from({ length: COLLECTIONS * FILES }, (_, n) => {
        const c = Math.floor(n / FILES);
        return limit(() =>
          (roots[c % ROOTS] as FileSystem).write(
            `coll-${String(c).padStart(5, "0")}/level-0/${n % FILES}.sst`,
            "x",
          ),
        );
      }),
    );
    let report = await discover({ component: "lsm", roots });
    const ms = await timeRuns(async () => {
      report = await discover({ component: "lsm", roots });
    }, 5);
    const delimiter = await discover({ component: "lsm", roots, plan: "delimiter" });
    const sum = (f: (r: (typeof report.roots)[number]) => number) =>
      report.roots.reduce((n, r) => n + f(r), 0);
    rows.push({
      backend: store.name,
      objects: COLLECTIONS * FILES,
      collections: Object.keys(report.collections).length,
      medianMs: median(ms),
      listRequests: report.requests,
      flatPlan: sum((r) => r.costs?.flat ?? 0),
      delimiterPlan: sum((r) => r.costs?.delimiter ?? 0),
      delimiterMeasured: delimiter.requests,
      minOfPlans: sum((r) => Math.min(r.costs?.flat ?? Infinity, r.costs?.delimiter ?? Infinity)),
      original1PlusC: sum((r) => r.costs?.original ?? 0),
    });
  } finally {
    await store.cleanup();
  }
}
printTable(
  `discovery-object-store: ${ROOTS} roots × ${COLLECTIONS / ROOTS} collections × ${FILES} files (median of 5)`,
  rows,
);
writeResult("discovery", "discovery-object-store", {
  shape: { roots: ROOTS, collections: COLLECTIONS, filesPerCollection: FILES },
  rows,
});
