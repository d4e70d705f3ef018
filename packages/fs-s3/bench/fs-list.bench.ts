// Time and LIST request count to list 20,000 keys on s3rver, flat and delimiter mode.
// Requests are counted at a fault proxy with every fault rate at 0. Prints a table, writes
// bench/results/fs-s3-fs-list.json. Asserts nothing.
import { listAll } from "@proximadb/core";
import { startS3rver } from "@proximadb/testing/emulators/s3rver";
import { createFaultProxy } from "@proximadb/testing/fault-proxy";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.ts";
import { S3FileSystem } from "../src/index.js";

const KEYS = Number(process.env.FS_LIST_KEYS ?? 20_000);
const RUNS = 3;
const CONCURRENCY = 64;

const s3 = await startS3rver({ buckets: ["bench"] });
const proxy = await createFaultProxy({ target: s3.endpoint, errorRate: 0, resetRate: 0, latencyMs: 0 });
const fs = new S3FileSystem("s3://bench/fs-list", { ...s3.clientConfig, endpoint: proxy.url });
try {
  // Half the keys sit directly under list/, half one level down: delimiter mode then returns
  // KEYS/2 files and KEYS/2 common prefixes, flat mode KEYS files.
  const keys = Array.from({ length: KEYS }, (_, i) => {
    const n = String(i >> 1).padStart(6, "0");
    return i % 2 === 0 ? `list/k-${n}` : `list/k-${n}/leaf`;
  });
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < keys.length) {
        const k = keys[next++] as string;
        await fs.write(k, "x");
      }
    }),
  );
  const createMs = performance.now() - t0;
  console.log(`created ${KEYS} keys in ${(createMs / 1000).toFixed(1)} s (${CONCURRENCY} parallel PUTs)`);

  const rows: Record<string, unknown>[] = [];
  for (const mode of ["flat", "delimiter"] as const) {
    const delimiter = mode === "delimiter";
    let entries = 0;
    proxy.resetStats();
    const times = await timeRuns(
      async () => {
        const got = await listAll(fs, "list/", { delimiter });
        entries = got.files.length + got.prefixes.length;
      },
      RUNS,
      1,
    );
    const lists = proxy.stats.lists / (RUNS + 1);
    rows.push({
      mode,
      keys: KEYS,
      entries,
      "median ms": median(times),
      "LIST requests": lists,
      "keys per request": Math.round(entries / lists),
    });
  }
  printTable(`fs-s3: list ${KEYS} keys on s3rver (median of ${RUNS})`, rows);
  writeResult("fs-s3", "fs-list", {
    keys: KEYS,
    runs: RUNS,
    createMs,
    results: rows,
    notes:
      "s3rver in a child process, requests counted at the fault proxy (rates 0). s3rver does not count common prefixes against MaxKeys, so delimiter mode needs fewer requests than AWS would (AWS: ceil(entries/1000)).",
  });
} finally {
  await fs.close();
  await proxy.close();
  await s3.stop();
}
