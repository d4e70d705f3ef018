/**
 * viper-compact: 100 files of 10,000 records (dimension 128) compacted into files of about 128 MiB, on
 * local disk. MB/s is input bytes over wall time. Each run builds its own 100 files first (not timed).
 * Run: pnpm --filter @proximadb/viper bench viper-compact
 */
import { rm } from "node:fs/promises";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { localViper, records } from "./common.ts";

const FILES = Number(process.env.VIPER_BENCH_FILES ?? 100);
const PER_FILE = Number(process.env.VIPER_BENCH_PER_FILE ?? 10_000);
const DIM = 128;
const RUNS = Number(process.env.VIPER_BENCH_RUNS ?? 1);
const TARGET = 128 * 1024 * 1024;

const results: {
  ms: number;
  bytesIn: number;
  bytesOut: number;
  rowsIn: number;
  rowsOut: number;
  outputs: number;
}[] = [];
for (let run = 0; run < RUNS; run++) {
  const { dir, viper } = await localViper();
  try {
    // A tenth of each batch overwrites records of the previous batch, so there is something to drop.
    for (let f = 0; f < FILES; f++)
      await viper.flush("bench", records(PER_FILE, DIM, Math.max(0, f * PER_FILE - PER_FILE / 10)));
    (globalThis as { gc?: () => void }).gc?.();
    const t0 = performance.now();
    const r = await viper.compact("bench", { targetFileBytes: TARGET });
    const ms = performance.now() - t0;
    results.push({
      ms,
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      rowsIn: r.rowsIn,
      rowsOut: r.rowsOut,
      outputs: r.outputs.length,
    });
  } finally {
    await viper.close();
    await rm(dir, { recursive: true, force: true });
  }
}
const ms = median(results.map((r) => r.ms));
const first = results[0] as (typeof results)[number];
const mbPerS = first.bytesIn / 1e6 / (ms / 1000);
printTable(
  `viper-compact: ${FILES} files × ${PER_FILE.toLocaleString("en-US")} records × dim ${DIM}, ${RUNS} run(s)`,
  [
    {
      input_MB: first.bytesIn / 1e6,
      output_MB: first.bytesOut / 1e6,
      rows_in: first.rowsIn,
      rows_out: first.rowsOut,
      output_files: first.outputs,
      median_ms: ms,
      MB_per_s: mbPerS,
      records_per_s: Math.round(first.rowsIn / (ms / 1000)),
    },
  ],
);
writeResult("viper", "compact", {
  files: FILES,
  recordsPerFile: PER_FILE,
  dimension: DIM,
  targetFileBytes: TARGET,
  runs: results,
  medianMs: ms,
  mbPerSecond: mbPerS,
});
