// lsm-vs-leveldb: 1,000,000 random 16-byte keys with 100-byte values on local disk (os.tmpdir()).
// Batch put (batches of 1,000; then flush), 100,000 random gets (one at a time), one full scan — on
// @proximadb/lsm and on LevelDB (classic-level) in the same run. Prints a table and writes
// bench/results/lsm-lsm-vs-leveldb.json. Assertion-free: figures are reported as they are.
//
// The gets run twice on our side: through the plain `LocalFileSystem` (its `openReader`: one FileHandle kept
// per open table, a block-cache miss is one promise pread), and through a subclass whose readers use raw
// descriptors and callback `fs.read` (to see what the promise API costs). LSM_BENCH_CACHE_MB sets the block
// cache (default: the engine's 64).
import { randomBytes } from "node:crypto";
import { close as fsClose, open as fsOpen, read as fsRead } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService, type PositionalReader } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { ClassicLevel } from "classic-level";
import { median, printTable, writeResult } from "../../../bench/lib.js";
import { LsmEngine } from "../src/index.js";

const N = Number(process.env.LSM_BENCH_KEYS ?? 1_000_000);
const GETS = Number(process.env.LSM_BENCH_GETS ?? 100_000);
const BATCH = 1000;
const RUNS = 3;
const CACHE_MB =
  process.env.LSM_BENCH_CACHE_MB === undefined ? undefined : Number(process.env.LSM_BENCH_CACHE_MB);
const tuning = CACHE_MB === undefined ? {} : { blockCacheBytes: CACHE_MB * 1024 * 1024 };

/** LocalFileSystem whose positional readers are raw descriptors read with callback `fs.read`. */
class LocalFileSystemWithReaders extends LocalFileSystem {
  override async openReader(key: string): Promise<PositionalReader> {
    const fd = await new Promise<number>((resolve, reject) =>
      fsOpen(`${this.root.path}/${key}`, "r", (err, fd) => (err ? reject(err) : resolve(fd))),
    );
    return {
      read: (offset, length) =>
        new Promise<Uint8Array>((resolve, reject) => {
          const buf = Buffer.allocUnsafe(length);
          fsRead(fd, buf, 0, length, offset, (err, n) =>
            err ? reject(err) : resolve(n === length ? buf : buf.subarray(0, n)),
          );
        }),
      close: () => new Promise<void>((resolve) => fsClose(fd, () => resolve())),
    };
  }
}

const keys = Array.from({ length: N }, () => randomBytes(16));
const values = Array.from({ length: N }, () => randomBytes(100));
const probes = Array.from({ length: GETS }, () => Math.floor(Math.random() * N));

interface Phase {
  putMs: number;
  getMs: number[];
  /** Ours only: gets through the positional-reader capability. */
  getReaderMs?: number[];
  scanMs: number[];
  scanned: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** RUNS rounds of the random gets (every probe must be found) and of a full scan: their times and the count. */
async function readRuns(
  get: (probe: number) => Promise<unknown>,
  scan: () => AsyncIterable<unknown>,
): Promise<{ getMs: number[]; scanMs: number[]; scanned: number }> {
  const getMs: number[] = [];
  const scanMs: number[] = [];
  let scanned = 0;
  for (let r = 0; r < RUNS; r++) {
    getMs.push(
      await timed(async () => {
        for (const p of probes) if ((await get(p)) === undefined) throw new Error("missing key");
      }),
    );
    scanMs.push(
      await timed(async () => {
        scanned = 0;
        for await (const _ of scan()) scanned++;
      }),
    );
  }
  return { getMs, scanMs, scanned };
}

async function ours(dir: string): Promise<Phase> {
  await mkdir(dir); // a root must exist: a missing one is reported offline
  const service = new AssignmentService({ components: { lsm: { roots: [`file://${dir}`] } } });
  const lsm = await LsmEngine.open({ service, openFileSystem: (r) => new LocalFileSystem(r), ...tuning });
  const putMs = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++)
        ops.push({ type: "put" as const, key: keys[j] as Uint8Array, value: values[j] as Uint8Array });
      await lsm.batch("bench", ops);
    }
    await lsm.flush("bench");
  });
  const { getMs, scanMs, scanned } = await readRuns(
    (p) => lsm.get("bench", keys[p] as Uint8Array),
    () => lsm.scan("bench"),
  );
  console.log("lsm levels:", JSON.stringify((await lsm.stats("bench"))?.levels));
  await lsm.close();
  const service2 = new AssignmentService({ components: { lsm: { roots: [`file://${dir}`] } } });
  const withReaders = await LsmEngine.open({
    service: service2,
    openFileSystem: (r) => new LocalFileSystemWithReaders(r),
    ...tuning,
  });
  const getReaderMs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    getReaderMs.push(
      await timed(async () => {
        for (const p of probes)
          if ((await withReaders.get("bench", keys[p] as Uint8Array)) === undefined)
            throw new Error("missing key");
      }),
    );
  }
  await withReaders.close();
  return { putMs, getMs, getReaderMs, scanMs, scanned };
}

async function leveldb(dir: string): Promise<Phase> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer" });
  await db.open();
  const putMs = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++)
        ops.push({ type: "put" as const, key: keys[j] as Buffer, value: values[j] as Buffer });
      await db.batch(ops);
    }
  });
  const { getMs, scanMs, scanned } = await readRuns(
    (p) => db.get(keys[p] as Buffer),
    () => db.iterator(),
  );
  await db.close();
  return { putMs, getMs, scanMs, scanned };
}

const base = await mkdtemp(join(tmpdir(), "proximadb-lsm-bench-"));
try {
  const a = await ours(join(base, "ours"));
  const b = await leveldb(join(base, "leveldb"));
  const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
  const rows = [
    {
      phase: `batch put ${N.toLocaleString("en-US")} (+flush)`,
      "lsm ops/s": rate(N, a.putMs),
      "leveldb ops/s": rate(N, b.putMs),
      ratio: b.putMs / a.putMs,
    },
    {
      phase: `random get ${GETS.toLocaleString("en-US")} (median of ${RUNS})`,
      "lsm ops/s": rate(GETS, median(a.getMs)),
      "leveldb ops/s": rate(GETS, median(b.getMs)),
      ratio: median(b.getMs) / median(a.getMs),
    },
    {
      phase: `random get, table handles kept (median of ${RUNS})`,
      "lsm ops/s": rate(GETS, median(a.getReaderMs ?? [])),
      "leveldb ops/s": rate(GETS, median(b.getMs)),
      ratio: median(b.getMs) / median(a.getReaderMs ?? []),
    },
    {
      phase: `full scan (median of ${RUNS})`,
      "lsm ops/s": rate(a.scanned, median(a.scanMs)),
      "leveldb ops/s": rate(b.scanned, median(b.scanMs)),
      ratio: median(b.scanMs) / median(a.scanMs),
    },
  ];
  printTable(
    `lsm vs LevelDB (classic-level), local disk, block cache ${CACHE_MB ?? 64} MiB; ratio = our throughput / LevelDB's (goal ≥ 0.5 for puts and gets)`,
    rows,
  );
  writeResult("lsm", "lsm-vs-leveldb", {
    keys: N,
    gets: GETS,
    batch: BATCH,
    keyBytes: 16,
    valueBytes: 100,
    runs: RUNS,
    blockCacheMiB: CACHE_MB ?? 64,
    lsm: {
      putMs: a.putMs,
      getMsMedian: median(a.getMs),
      getWithReadersMsMedian: median(a.getReaderMs ?? []),
      scanMsMedian: median(a.scanMs),
      scanned: a.scanned,
    },
    leveldb: {
      putMs: b.putMs,
      getMsMedian: median(b.getMs),
      scanMsMedian: median(b.scanMs),
      scanned: b.scanned,
    },
    ratios: {
      put: rows[0]?.ratio,
      get: rows[1]?.ratio,
      getWithReaders: rows[2]?.ratio,
      scan: rows[3]?.ratio,
    },
  });
} finally {
  await rm(base, { recursive: true, force: true });
}
