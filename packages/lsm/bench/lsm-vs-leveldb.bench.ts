// lsm-vs-leveldb: 1,000,000 random 16-byte keys with 100-byte values on local disk (os.tmpdir()).
// Batch put (batches of 1,000; then flush), 100,000 random gets (one at a time), one full scan — on
// @proximadb/lsm and on LevelDB (classic-level) in the same run. Prints a table and writes
// bench/results/lsm-lsm-vs-leveldb.json. Assertion-free: figures are reported as they are.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { ClassicLevel } from "classic-level";
import { median, printTable, writeResult } from "../../../bench/lib.js";
import { LsmEngine } from "../src/index.js";

const N = Number(process.env.LSM_BENCH_KEYS ?? 1_000_000);
const GETS = Number(process.env.LSM_BENCH_GETS ?? 100_000);
const BATCH = 1000;
const RUNS = 3;

const keys = Array.from({ length: N }, () => randomBytes(16));
const values = Array.from({ length: N }, () => randomBytes(100));
const probes = Array.from({ length: GETS }, () => Math.floor(Math.random() * N));

interface Phase {
  putMs: number;
  getMs: number[];
  scanMs: number[];
  scanned: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function ours(dir: string): Promise<Phase> {
  await mkdir(dir); // a root must exist: a missing one is reported offline
  const service = new AssignmentService({ components: { lsm: { roots: [`file://${dir}`] } } });
  const lsm = await LsmEngine.open({ service, openFileSystem: (r) => new LocalFileSystem(r) });
  const putMs = await timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++)
        ops.push({ type: "put" as const, key: keys[j] as Uint8Array, value: values[j] as Uint8Array });
      await lsm.batch("bench", ops);
    }
    await lsm.flush("bench");
  });
  const getMs: number[] = [];
  const scanMs: number[] = [];
  let scanned = 0;
  for (let r = 0; r < RUNS; r++) {
    getMs.push(
      await timed(async () => {
        for (const p of probes)
          if ((await lsm.get("bench", keys[p] as Uint8Array)) === undefined) throw new Error("missing key");
      }),
    );
    scanMs.push(
      await timed(async () => {
        scanned = 0;
        for await (const _ of lsm.scan("bench")) scanned++;
      }),
    );
  }
  console.log("lsm levels:", JSON.stringify((await lsm.stats("bench"))?.levels));
  await lsm.close();
  return { putMs, getMs, scanMs, scanned };
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
  const getMs: number[] = [];
  const scanMs: number[] = [];
  let scanned = 0;
  for (let r = 0; r < RUNS; r++) {
    getMs.push(
      await timed(async () => {
        for (const p of probes)
          if ((await db.get(keys[p] as Buffer)) === undefined) throw new Error("missing key");
      }),
    );
    scanMs.push(
      await timed(async () => {
        scanned = 0;
        for await (const _ of db.iterator()) scanned++;
      }),
    );
  }
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
      phase: `full scan (median of ${RUNS})`,
      "lsm ops/s": rate(a.scanned, median(a.scanMs)),
      "leveldb ops/s": rate(b.scanned, median(b.scanMs)),
      ratio: median(b.scanMs) / median(a.scanMs),
    },
  ];
  printTable(
    "lsm vs LevelDB (classic-level), local disk; ratio = our throughput / LevelDB's (goal ≥ 0.5 for puts and gets)",
    rows,
  );
  writeResult("lsm", "lsm-vs-leveldb", {
    keys: N,
    gets: GETS,
    batch: BATCH,
    keyBytes: 16,
    valueBytes: 100,
    runs: RUNS,
    lsm: { putMs: a.putMs, getMsMedian: median(a.getMs), scanMsMedian: median(a.scanMs), scanned: a.scanned },
    leveldb: {
      putMs: b.putMs,
      getMsMedian: median(b.getMs),
      scanMsMedian: median(b.scanMs),
      scanned: b.scanned,
    },
    ratios: { put: rows[0]?.ratio, get: rows[1]?.ratio, scan: rows[2]?.ratio },
  });
} finally {
  await rm(base, { recursive: true, force: true });
}
