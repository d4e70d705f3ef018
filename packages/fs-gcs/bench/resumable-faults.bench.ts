// resumable-faults: 8 resumable uploads of 2 MiB (256 KiB chunks) written at once, directly and through
// the fault proxy at 20 % 503s / 5 % resets: wall time, writes completed, sessions and chunk PUTs needed.
import { startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { createFaultProxy } from "@proximadb/testing/fault-proxy";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { GcsFileSystem } from "../src/index.js";

const OBJECTS = 8;
const SIZE = 2 * 1024 * 1024;
const RUNS = 5;
const gcs = await startGcsServer({ buckets: ["bench-resumable"] });
const proxy = await createFaultProxy({ target: gcs.endpoint, errorRate: 0.2, resetRate: 0.05, seed: 3 });
const tuning = {
  resumableThresholdBytes: 256 * 1024,
  resumableChunkBytes: 256 * 1024,
  retryOptions: { maxRetries: 8, retryDelayMultiplier: 1, maxRetryDelay: 1 },
};
const body = Buffer.alloc(SIZE, 42);

async function* pieces(): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < SIZE; o += 64 * 1024) yield body.subarray(o, o + 64 * 1024);
}

const rows: Record<string, unknown>[] = [];
for (const path of ["direct", "20% 503 / 5% reset"] as const) {
  for (const api of ["write", "writeStream"] as const) {
    const fs = new GcsFileSystem(`gcs://bench-resumable/${api}`, {
      apiEndpoint: path === "direct" ? gcs.endpoint : proxy.url,
      ...tuning,
    });
    const times: number[] = [];
    let ok = 0;
    let failed = 0;
    gcs.resetCounters();
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      const results = await Promise.allSettled(
        Array.from({ length: OBJECTS }, (_, i) =>
          api === "write" ? fs.write(`r${run}/o${i}`, body) : fs.writeStream(`r${run}/o${i}`, pieces()),
        ),
      );
      times.push(performance.now() - t0);
      for (const r of results) r.status === "fulfilled" ? ok++ : failed++;
    }
    rows.push({
      path,
      api,
      medianMs: median(times),
      minMs: Math.min(...times),
      completed: ok,
      failedRetryable: failed,
      sessionsPerWrite: (gcs.requests.byRoute["objects.insert.resumable.start"] ?? 0) / (OBJECTS * RUNS),
      chunkPutsPerWrite: (gcs.requests.byRoute["objects.insert.resumable.chunk"] ?? 0) / (OBJECTS * RUNS),
    });
  }
}
const base = (api: string) => rows.find((r) => r.path === "direct" && r.api === api)?.medianMs as number;
for (const r of rows) r.vsDirect = (r.medianMs as number) / base(r.api as string);
printTable(`fs-gcs: ${OBJECTS} × 2 MiB resumable uploads at once (256 KiB chunks), ${RUNS} runs`, rows);
writeResult("fs-gcs", "resumable-faults", { objects: OBJECTS, sizeBytes: SIZE, runs: RUNS, rows });
await proxy.close();
await gcs.stop();
