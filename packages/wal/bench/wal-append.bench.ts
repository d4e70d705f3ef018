// wal-append: 1 KiB records from 64 concurrent writers on local disk, each case timed for at least
// CASE_MS (≥ 1 s; a short case is mostly JIT warm-up and noise). `batch` (group commit) beside a baseline
// that writes with plain fs.write + fsync, in chunks of the WAL run's bytes per fsync (the same fsyncs per
// byte), in the same run; then `always` vs `batch`. Throughputs are compared per byte: ratio = WAL bytes/s
// over baseline bytes/s (equal to records/s at the WAL's bytes per record).
import { open, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import type { AppendHandle, FileSystem } from "@proximadb/core";
import type { SyncPolicy, WalEntry } from "../src/index.js";
import { freshRoot, openWal, record } from "./util.ts";

const WRITERS = 64;
const RUNS = Number(process.env.WAL_BENCH_RUNS ?? 5);
const CASE_MS = Number(process.env.WAL_BENCH_CASE_MS ?? 1200);
/** Records each writer cycles through (built before the clock starts: the run times the WAL, not record creation). */
const POOL = 64;
const pool: WalEntry[][][] = Array.from({ length: WRITERS }, (_, w) =>
  Array.from({ length: POOL }, (_, i) => [record(w * POOL + i)]),
);

const nextTurn = () => new Promise<void>((r) => setImmediate(r));
/** Append handles that store nothing: writes and fsyncs complete on the next turn, no syscalls (the WAL's own CPU). */
function noIo(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === "openAppend")
        return async (key: string): Promise<AppendHandle> => {
          const h = await target.openAppend(key);
          let size = h.size;
          return {
            get size() {
              return size;
            },
            write: async (d) => {
              await nextTurn();
              size += d.length;
            },
            sync: nextTurn,
            truncate: async (n) => {
              size = n;
            },
            close: () => h.close(),
          };
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Appends from WRITERS writers until `ms` have passed (each writer finishes the append it is in). */
async function walRun(sync: SyncPolicy, ms: number, wrap?: (fs: FileSystem) => FileSystem) {
  const root = await freshRoot();
  const { wal, counter } = await openWal(root.url, { sync }, wrap);
  await wal.append("bench", [record(0)]); // place the collection, create the first segment
  const syncsBefore = counter.syncs;
  let records = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + ms;
  await Promise.all(
    pool.map(async (mine) => {
      for (let i = 0; performance.now() < until; i++) {
        await wal.append("bench", mine[i % POOL] as WalEntry[]);
        records++;
      }
    }),
  );
  const elapsed = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  const fsyncs = counter.syncs - syncsBefore;
  await wal.close();
  const dir = join(root.dir, "bench");
  let bytes = 0;
  for (const f of await readdir(dir)) bytes += (await stat(join(dir, f))).size;
  await rm(root.dir, { recursive: true, force: true });
  // CPU time of the process (all threads, user + system) over the run: what the WAL costs beyond waiting on the disk.
  const cpuMs = (used.user + used.system) / 1000;
  return { ms: elapsed, cpuMs, fsyncs, bytes, records };
}

/** Plain node:fs: `chunkBytes` written then fsynced, again and again, until `ms` have passed. */
async function baselineRun(chunkBytes: number, ms: number) {
  const root = await freshRoot();
  const fh = await open(join(root.dir, "plain.log"), "a");
  const chunk = Buffer.alloc(chunkBytes, 7);
  let fsyncs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await fh.write(chunk);
    await fh.sync();
    fsyncs++;
  }
  const elapsed = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  await fh.close();
  await rm(root.dir, { recursive: true, force: true });
  return { ms: elapsed, cpuMs: (used.user + used.system) / 1000, fsyncs, bytes: fsyncs * chunkBytes };
}

// One unmeasured round first (JIT, page cache, first file creation), then WAL and baseline runs in pairs
// (alternating which goes first) so machine load drifts over both alike; the ratio is also taken per pair.
let chunk = 64 * 1100;
{
  const w = await walRun("batch", 300);
  chunk = Math.round(w.bytes / Math.max(1, w.fsyncs));
  await baselineRun(chunk, 100);
}
interface Pair {
  walMs: number;
  walRecords: number;
  walFsyncs: number;
  walBytes: number;
  walCpuMicrosPerRecord: number;
  plainMs: number;
  plainFsyncs: number;
  plainBytes: number;
  plainCpuMicrosPerRecord: number;
  walRecordsPerSecond: number;
  plainRecordsPerSecond: number;
  ratio: number;
}
const pairs: Pair[] = [];
for (let r = 0; r < RUNS; r++) {
  // Odd runs: baseline first, with the bytes per fsync of the previous WAL run (they repeat run to run).
  const plainFirst = r % 2 === 1 ? await baselineRun(chunk, CASE_MS) : undefined;
  const w = await walRun("batch", CASE_MS);
  chunk = Math.round(w.bytes / Math.max(1, w.fsyncs));
  const plain = plainFirst ?? (await baselineRun(chunk, CASE_MS));
  const bytesPerRecord = w.bytes / w.records;
  const plainRecords = plain.bytes / bytesPerRecord; // records the baseline's bytes would hold
  const walRps = w.records / (w.ms / 1000);
  const plainRps = plainRecords / (plain.ms / 1000);
  pairs.push({
    walMs: w.ms,
    walRecords: w.records,
    walFsyncs: w.fsyncs,
    walBytes: w.bytes,
    walCpuMicrosPerRecord: (w.cpuMs * 1000) / w.records,
    plainMs: plain.ms,
    plainFsyncs: plain.fsyncs,
    plainBytes: plain.bytes,
    plainCpuMicrosPerRecord: (plain.cpuMs * 1000) / plainRecords,
    walRecordsPerSecond: walRps,
    plainRecordsPerSecond: plainRps,
    ratio: walRps / plainRps,
  });
}
const loadDuringBatch = os.loadavg();

// The WAL's own CPU per record, without I/O: stable under load, and what bounds the ratio on a fast disk.
const noIoCpu: number[] = [];
for (let r = 0; r < 3; r++) {
  const x = await walRun("batch", CASE_MS, noIo);
  noIoCpu.push((x.cpuMs * 1000) / x.records);
}

const always: { ms: number; fsyncs: number; records: number; recordsPerSecond: number }[] = [];
const batchSmall: typeof always = [];
for (let r = 0; r < 3; r++) {
  for (const [sync, out] of [
    ["always", always],
    ["batch", batchSmall],
  ] as const) {
    const x = await walRun(sync, CASE_MS);
    out.push({ ms: x.ms, fsyncs: x.fsyncs, records: x.records, recordsPerSecond: x.records / (x.ms / 1000) });
  }
}

const MB = 1024 * 1024;
const med = (f: (p: Pair) => number) => median(pairs.map(f));
const walRps = med((p) => p.walRecordsPerSecond);
const plainRps = med((p) => p.plainRecordsPerSecond);
const pairRatio = med((p) => p.ratio);
const bytesPerRecord = med((p) => p.walBytes / p.walRecords);
const rows = [
  {
    case: "wal batch (64 writers)",
    "median ms": med((p) => p.walMs),
    records: med((p) => p.walRecords),
    "records/fsync": med((p) => p.walRecords / p.walFsyncs),
    "records/s": Math.round(walRps),
    "MB/s": (walRps * bytesPerRecord) / MB,
    "CPU µs/record": med((p) => p.walCpuMicrosPerRecord),
  },
  {
    case: "wal batch, no I/O (3 runs)",
    "median ms": "",
    records: "",
    "records/fsync": "",
    "records/s": "",
    "MB/s": "",
    "CPU µs/record": median(noIoCpu),
  },
  {
    case: "plain fs.write + fsync, same bytes/fsync",
    "median ms": med((p) => p.plainMs),
    records: med((p) => p.plainBytes / bytesPerRecord),
    "records/fsync": med((p) => p.walRecords / p.walFsyncs),
    "records/s": Math.round(plainRps),
    "MB/s": (plainRps * bytesPerRecord) / MB,
    "CPU µs/record": med((p) => p.plainCpuMicrosPerRecord),
  },
];
printTable(
  `wal-append: 1 KiB records, ${WRITERS} concurrent writers, local disk, ${RUNS} pairs of ≥ ${CASE_MS} ms cases (medians); wal/plain throughput ratio ${pairRatio.toFixed(2)} (median of per-pair ratios; ratio of medians ${(walRps / plainRps).toFixed(2)}); load average ${loadDuringBatch.map((l) => l.toFixed(1)).join(" ")}`,
  rows,
);
const aRps = median(always.map((a) => a.recordsPerSecond));
const bRps = median(batchSmall.map((a) => a.recordsPerSecond));
printTable(`always vs batch (64 writers, one 1 KiB record per append; 3 runs of ≥ ${CASE_MS} ms, medians)`, [
  {
    sync: "always",
    "median ms": median(always.map((a) => a.ms)),
    records: median(always.map((a) => a.records)),
    fsyncs: median(always.map((a) => a.fsyncs)),
    "records/s": Math.round(aRps),
  },
  {
    sync: "batch",
    "median ms": median(batchSmall.map((a) => a.ms)),
    records: median(batchSmall.map((a) => a.records)),
    fsyncs: median(batchSmall.map((a) => a.fsyncs)),
    "records/s": Math.round(bRps),
  },
]);
writeResult("wal", "wal-append", {
  recordBytes: 1024,
  writers: WRITERS,
  caseMs: CASE_MS,
  batch: {
    pairs,
    walRecordsPerSecond: walRps,
    baselineRecordsPerSecond: plainRps,
    medianPairRatio: pairRatio,
    ratioOfMedians: walRps / plainRps,
    walCpuMicrosPerRecord: med((p) => p.walCpuMicrosPerRecord),
    baselineCpuMicrosPerRecord: med((p) => p.plainCpuMicrosPerRecord),
    walNoIoCpuMicrosPerRecord: median(noIoCpu),
    walNoIoCpuRuns: noIoCpu,
    loadAverage: loadDuringBatch,
  },
  alwaysVsBatch: {
    always,
    batch: batchSmall,
    alwaysRecordsPerSecond: aRps,
    batchRecordsPerSecond: bRps,
    speedup: bRps / aRps,
  },
  loadAverageAtEnd: os.loadavg(),
});
