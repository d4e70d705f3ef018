// wal-append: 1 KiB records from 64 concurrent writers on local disk.
// `batch` (group commit) beside a baseline that writes the same bytes with plain fs.write and the same
// number of fsyncs, in the same run; then `always` vs `batch`.
import { open, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import type { SyncPolicy } from "../src/index.js";
import { freshRoot, openWal, record } from "./util.ts";

const WRITERS = 64;
const RUNS = 7;
const PER_WRITER = 50;

async function walRun(sync: SyncPolicy, perWriter: number) {
  const root = await freshRoot();
  const { wal, counter } = await openWal(root.url, { sync });
  await wal.append("bench", [record(0)]); // place the collection, write the marker
  // The writers' records are built before the clock starts: the run times the WAL, not record creation.
  const input = Array.from({ length: WRITERS }, (_, w) =>
    Array.from({ length: perWriter }, (_, i) => [record(w * perWriter + i)]),
  );
  const syncsBefore = counter.syncs;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (const entries of input[w] ?? []) await wal.append("bench", entries);
    }),
  );
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  const fsyncs = counter.syncs - syncsBefore;
  await wal.close();
  const dir = join(root.dir, "bench");
  let bytes = 0;
  for (const f of await readdir(dir)) bytes += (await stat(join(dir, f))).size;
  // CPU time of the process (all threads, user + system) over the run: what the WAL costs beyond waiting on the disk.
  const cpuMs = (used.user + used.system) / 1000;
  return { ms, cpuMs, fsyncs, bytes, records: WRITERS * perWriter, root };
}

/** Plain node:fs: the same bytes, in `fsyncs` equal writes, each followed by an fsync. */
async function baselineRun(bytes: number, fsyncs: number) {
  const root = await freshRoot();
  const fh = await open(join(root.dir, "plain.log"), "a");
  const chunk = Buffer.alloc(Math.ceil(bytes / fsyncs), 7);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < fsyncs; i++) {
    await fh.write(chunk);
    await fh.sync();
  }
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  await fh.close();
  await rm(root.dir, { recursive: true, force: true });
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

// One unmeasured round first (JIT, page cache, first file creation), then WAL and baseline runs in pairs
// (alternating which goes first) so machine load drifts over both alike; the ratio is also taken per pair.
{
  const w = await walRun("batch", 10);
  await baselineRun(w.bytes, w.fsyncs);
  await rm(w.root.dir, { recursive: true, force: true });
}
const batch: {
  wal: number;
  plain: number;
  walCpu: number;
  plainCpu: number;
  fsyncs: number;
  bytes: number;
  records: number;
  ratio: number;
}[] = [];
for (let r = 0; r < RUNS; r++) {
  let plain = { ms: 0, cpuMs: 0 };
  const prev = batch[batch.length - 1];
  // Odd runs: baseline first, with the bytes and fsyncs of the previous WAL run (they repeat run to run).
  if (prev && r % 2 === 1) plain = await baselineRun(prev.bytes, prev.fsyncs);
  const w = await walRun("batch", PER_WRITER);
  if (r % 2 === 0) plain = await baselineRun(w.bytes, w.fsyncs);
  await rm(w.root.dir, { recursive: true, force: true });
  batch.push({
    wal: w.ms,
    plain: plain.ms,
    walCpu: w.cpuMs,
    plainCpu: plain.cpuMs,
    fsyncs: w.fsyncs,
    bytes: w.bytes,
    records: w.records,
    ratio: plain.ms / w.ms,
  });
}
const always: { ms: number; fsyncs: number; records: number }[] = [];
const batchSmall: { ms: number; fsyncs: number; records: number }[] = [];
for (let r = 0; r < 3; r++) {
  const a = await walRun("always", 5);
  const b = await walRun("batch", 5);
  await rm(a.root.dir, { recursive: true, force: true });
  await rm(b.root.dir, { recursive: true, force: true });
  always.push({ ms: a.ms, fsyncs: a.fsyncs, records: a.records });
  batchSmall.push({ ms: b.ms, fsyncs: b.fsyncs, records: b.records });
}

const MB = 1024 * 1024;
const walMs = median(batch.map((b) => b.wal));
const plainMs = median(batch.map((b) => b.plain));
const records = batch[0]?.records ?? 0;
const bytes = median(batch.map((b) => b.bytes));
const fsyncs = median(batch.map((b) => b.fsyncs));
const rows = [
  {
    case: "wal batch (64 writers)",
    records,
    fsyncs,
    "median ms": walMs,
    "records/s": Math.round(records / (walMs / 1000)),
    "MB/s": bytes / MB / (walMs / 1000),
    "CPU µs/record": (median(batch.map((b) => b.walCpu)) * 1000) / records,
  },
  {
    case: "plain fs.write + same fsyncs",
    records: "",
    fsyncs,
    "median ms": plainMs,
    "records/s": Math.round(records / (plainMs / 1000)),
    "MB/s": bytes / MB / (plainMs / 1000),
    "CPU µs/record": (median(batch.map((b) => b.plainCpu)) * 1000) / records,
  },
];
const pairRatio = median(batch.map((b) => b.ratio));
printTable(
  `wal-append: 1 KiB records, ${WRITERS} concurrent writers, local disk (${RUNS} runs, medians); wal/plain throughput ratio ${(plainMs / walMs).toFixed(2)} (median of per-pair ratios ${pairRatio.toFixed(2)}; load average ${os.loadavg()[0]?.toFixed(1)})`,
  rows,
);
const aMs = median(always.map((a) => a.ms));
const bMs = median(batchSmall.map((a) => a.ms));
const rows2 = [
  {
    sync: "always",
    records: always[0]?.records,
    fsyncs: median(always.map((a) => a.fsyncs)),
    "median ms": aMs,
    "records/s": Math.round((always[0]?.records ?? 0) / (aMs / 1000)),
  },
  {
    sync: "batch",
    records: batchSmall[0]?.records,
    fsyncs: median(batchSmall.map((a) => a.fsyncs)),
    "median ms": bMs,
    "records/s": Math.round((batchSmall[0]?.records ?? 0) / (bMs / 1000)),
  },
];
printTable("always vs batch (64 writers x 5 appends of one 1 KiB record; 3 runs, medians)", rows2);
writeResult("wal", "wal-append", {
  recordBytes: 1024,
  writers: WRITERS,
  batch: {
    runs: batch,
    medianMs: walMs,
    baselineMedianMs: plainMs,
    ratio: plainMs / walMs,
    medianPairRatio: pairRatio,
    walCpuMicrosPerRecord: (median(batch.map((b) => b.walCpu)) * 1000) / records,
    baselineCpuMicrosPerRecord: (median(batch.map((b) => b.plainCpu)) * 1000) / records,
    loadAverage: os.loadavg(),
    recordsPerSecond: records / (walMs / 1000),
    mbPerSecond: bytes / MB / (walMs / 1000),
  },
  alwaysVsBatch: { always, batch: batchSmall, alwaysMedianMs: aMs, batchMedianMs: bMs, speedup: aMs / bMs },
});
