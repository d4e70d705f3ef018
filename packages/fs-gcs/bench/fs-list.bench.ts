// fs-list: time and LIST request count to list 20,000 objects on the GCS test server, flat and delimiter mode.
import { listAll } from "@proximadb/core";
import { startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.ts";
import { GcsFileSystem } from "../src/index.js";

const KEYS = 20_000;
const COLLECTIONS = 200;
const gcs = await startGcsServer({ buckets: ["bench-list"] });
// 200 collections of 100 segment files each; seeded directly into the server (listing is what is measured).
gcs.putObjects(
  "bench-list",
  Array.from(
    { length: KEYS },
    (_, i) =>
      [
        `root/coll-${String(i % COLLECTIONS).padStart(4, "0")}/seg-${String(i).padStart(6, "0")}.parquet`,
        "x",
      ] as const,
  ),
);
const fs = new GcsFileSystem("gcs://bench-list/root", {
  apiEndpoint: gcs.endpoint,
  projectId: gcs.projectId,
});

const rows: Record<string, unknown>[] = [];
for (const mode of ["flat", "delimiter"] as const) {
  let found = 0;
  gcs.resetCounters();
  const times = await timeRuns(
    async () => {
      const r = await listAll(fs, "", { delimiter: mode === "delimiter" });
      found = r.files.length + r.prefixes.length;
    },
    5,
    1,
  );
  const lists = (gcs.requests.byRoute["objects.list"] ?? 0) / 6;
  rows.push({
    mode,
    entries: found,
    listRequests: lists,
    medianMs: median(times),
    minMs: Math.min(...times),
  });
}
printTable(`fs-gcs: list ${KEYS.toLocaleString("en-US")} objects (GCS test server, loopback)`, rows);
writeResult("fs-gcs", "fs-list", { keys: KEYS, collections: COLLECTIONS, runs: 5, rows });
await gcs.stop();
