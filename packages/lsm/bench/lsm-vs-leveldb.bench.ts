// lsm-vs-leveldb: 1,000,000 random 16-byte keys with 100-byte values on local disk (os.tmpdir()).
// Batch put (batches of 1,000; then flush), 100,000 random gets (one at a time), one full scan — on
// @proximadb/lsm and on LevelDB (classic-level) in the same run. Prints a table and writes
// bench/results/lsm-lsm-vs-leveldb.json. Assertion-free: figures are reported as they are.
//
// The read phases alternate: both stores stay open and every round times each store's gets (the order
// rotating from round to round) and then each one's scan, so a change of the machine's load between
// rounds hits both sides alike. Ratios are taken per round; the table shows their median
// (LSM_BENCH_RUNS rounds, default 5).
//
// The gets run twice on our side: through the plain `LocalFileSystem` (its `openReader`: one FileHandle kept
// per open table, a block-cache miss is one promise pread), and through a subclass whose readers use raw
// descriptors and callback `fs.read` (to see what the promise API costs). LSM_BENCH_CACHE_MB sets the block
// cache (default: the engine's 64).
//
// Fair to the anchor: LevelDB gets the same block cache as ours (`cacheSize`; its own default is 8 MiB,
// LSM_BENCH_LEVELDB_CACHE_MB sets it apart), its background compactions are waited for before its gets are
// timed (ours finish inside `flush`, which the put phase times), and both stores run one unmeasured round
// of the same gets before the timed rounds (warm caches on both sides).
import { randomBytes } from "node:crypto";
import { close as fsClose, open as fsOpen, read as fsRead } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService, type PositionalReader, type StorageRoot } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { ClassicLevel } from "classic-level";
import { median, printTable, writeResult } from "../../../bench/lib.js";
import { LsmEngine } from "../src/index.js";

const N = Number(process.env.LSM_BENCH_KEYS ?? 1_000_000);
const GETS = Number(process.env.LSM_BENCH_GETS ?? 100_000);
const BATCH = 1000;
const RUNS = Number(process.env.LSM_BENCH_RUNS ?? 5);
const CACHE_MB =
  process.env.LSM_BENCH_CACHE_MB === undefined ? undefined : Number(process.env.LSM_BENCH_CACHE_MB);
const tuning = CACHE_MB === undefined ? {} : { blockCacheBytes: CACHE_MB * 1024 * 1024 };
const LEVELDB_CACHE_MB = Number(process.env.LSM_BENCH_LEVELDB_CACHE_MB ?? CACHE_MB ?? 64);
/** LevelDB has settled once its stats and its file list stayed the same this long. */
const SETTLE_MS = 3000;

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

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** One store as the read rounds see it. */
interface Reader {
  get(probe: number): Promise<unknown>;
  scan?(): AsyncIterable<unknown>;
}

/** Every probe once, one get at a time (each must be found). */
async function getAll(store: Reader): Promise<void> {
  for (const p of probes) if ((await store.get(p)) === undefined) throw new Error("missing key");
}

/** Puts every key in batches of {@link BATCH}; `end` (a flush) is part of the timed phase. */
async function putAll(
  batch: (ops: { type: "put"; key: Buffer; value: Buffer }[]) => Promise<void>,
  end?: () => Promise<void>,
): Promise<number> {
  return timed(async () => {
    for (let i = 0; i < N; i += BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++)
        ops.push({ type: "put" as const, key: keys[j] as Buffer, value: values[j] as Buffer });
      await batch(ops);
    }
    await end?.();
  });
}

/**
 * Waits until LevelDB's background compactions are over: its `leveldb.stats` (updated as each compaction
 * ends) and its file list (a compaction adds an output file every 2 MiB) unchanged for {@link SETTLE_MS}.
 * Returns the time waited.
 */
async function settle(db: ClassicLevel<Buffer, Buffer>, dir: string): Promise<number> {
  const t0 = performance.now();
  let seen = "";
  let since = t0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = `${db.getProperty("leveldb.stats")}\n${(await readdir(dir)).sort().join(",")}`;
    if (now !== seen) {
      seen = now;
      since = performance.now();
    } else if (performance.now() - since >= SETTLE_MS) return performance.now() - t0;
  }
}

/** The 1-, 5- and 15-minute load averages (the machine is shared: figures move with it). */
function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

const loadBefore = loadAverage();
const base = await mkdtemp(join(tmpdir(), "proximadb-lsm-bench-"));
const closers: (() => Promise<void>)[] = [];
try {
  const oursDir = join(base, "ours");
  await mkdir(oursDir); // a root must exist: a missing one is reported offline
  const openOurs = (openFileSystem: (root: StorageRoot) => LocalFileSystem) =>
    LsmEngine.open({
      service: new AssignmentService({ components: { lsm: { roots: [`file://${oursDir}`] } } }),
      openFileSystem,
      ...tuning,
    });
  const lsm = await openOurs((r) => new LocalFileSystem(r));
  closers.push(() => lsm.close());
  const oursPutMs = await putAll(
    (ops) => lsm.batch("bench", ops),
    () => lsm.flush("bench"),
  );
  console.log("lsm levels:", JSON.stringify((await lsm.stats("bench"))?.levels));

  const leveldbDir = join(base, "leveldb");
  const db = new ClassicLevel<Buffer, Buffer>(leveldbDir, {
    keyEncoding: "buffer",
    valueEncoding: "buffer",
    cacheSize: LEVELDB_CACHE_MB * 1024 * 1024,
  });
  await db.open();
  closers.push(() => db.close());
  const leveldbPutMs = await putAll((ops) => db.batch(ops));
  const settleMs = await settle(db, leveldbDir);
  console.log(`leveldb settled after ${Math.round(settleMs)} ms:\n${db.getProperty("leveldb.stats")}`);

  // A second engine on the same (now read-only) tree, whose readers use callback `fs.read`.
  const withReaders = await openOurs((r) => new LocalFileSystemWithReaders(r));
  closers.push(() => withReaders.close());

  const stores: Record<"lsm" | "leveldb" | "lsmReaders", Reader> = {
    lsm: { get: (p) => lsm.get("bench", keys[p] as Buffer), scan: () => lsm.scan("bench") },
    leveldb: { get: (p) => db.get(keys[p] as Buffer), scan: () => db.iterator() },
    lsmReaders: { get: (p) => withReaders.get("bench", keys[p] as Buffer) },
  };
  const names = Object.keys(stores) as (keyof typeof stores)[];
  for (const name of names) await getAll(stores[name]); // warm-up: one unmeasured round each
  const getMs = { lsm: [] as number[], leveldb: [] as number[], lsmReaders: [] as number[] };
  const scanMs = { lsm: [] as number[], leveldb: [] as number[] };
  const scanned = { lsm: 0, leveldb: 0 };
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length] as keyof typeof stores;
      getMs[name].push(await timed(() => getAll(stores[name])));
    }
    for (const name of r % 2 === 0 ? (["lsm", "leveldb"] as const) : (["leveldb", "lsm"] as const)) {
      scanMs[name].push(
        await timed(async () => {
          let n = 0;
          for await (const _ of (stores[name].scan as () => AsyncIterable<unknown>)()) n++;
          scanned[name] = n;
        }),
      );
    }
  }

  const rate = (count: number, ms: number) => Math.round((count / ms) * 1000);
  /** Per round: LevelDB's time / ours (= our throughput / LevelDB's). */
  const perRound = (ours: number[], anchor: number[]) => ours.map((ms, i) => (anchor[i] as number) / ms);
  const ratios = {
    get: perRound(getMs.lsm, getMs.leveldb),
    getWithReaders: perRound(getMs.lsmReaders, getMs.leveldb),
    scan: perRound(scanMs.lsm, scanMs.leveldb),
  };
  const rows = [
    {
      phase: `batch put ${N.toLocaleString("en-US")} (+flush)`,
      "lsm ops/s": rate(N, oursPutMs),
      "leveldb ops/s": rate(N, leveldbPutMs),
      ratio: leveldbPutMs / oursPutMs,
    },
    {
      phase: `random get ${GETS.toLocaleString("en-US")} (medians of ${RUNS} rounds)`,
      "lsm ops/s": rate(GETS, median(getMs.lsm)),
      "leveldb ops/s": rate(GETS, median(getMs.leveldb)),
      ratio: median(ratios.get),
      "ratio min–max": `${Math.min(...ratios.get).toFixed(2)}–${Math.max(...ratios.get).toFixed(2)}`,
    },
    {
      phase: "random get, callback fs.read readers",
      "lsm ops/s": rate(GETS, median(getMs.lsmReaders)),
      "leveldb ops/s": rate(GETS, median(getMs.leveldb)),
      ratio: median(ratios.getWithReaders),
      "ratio min–max": `${Math.min(...ratios.getWithReaders).toFixed(2)}–${Math.max(...ratios.getWithReaders).toFixed(2)}`,
    },
    {
      phase: `full scan (medians of ${RUNS} rounds)`,
      "lsm ops/s": rate(scanned.lsm, median(scanMs.lsm)),
      "leveldb ops/s": rate(scanned.leveldb, median(scanMs.leveldb)),
      ratio: median(ratios.scan),
      "ratio min–max": `${Math.min(...ratios.scan).toFixed(2)}–${Math.max(...ratios.scan).toFixed(2)}`,
    },
  ];
  printTable(
    `lsm vs LevelDB (classic-level), local disk, block cache ${CACHE_MB ?? 64} MiB (LevelDB ${LEVELDB_CACHE_MB} MiB); ratio = our throughput / LevelDB's, median of the rounds' ratios (goal ≥ 0.5 for puts, ≥ 1 for gets)`,
    rows,
  );
  console.log(`load average (1, 5, 15 min): ${loadBefore} before, ${loadAverage()} after`);
  writeResult("lsm", "lsm-vs-leveldb", {
    keys: N,
    gets: GETS,
    batch: BATCH,
    keyBytes: 16,
    valueBytes: 100,
    runs: RUNS,
    blockCacheMiB: CACHE_MB ?? 64,
    leveldbCacheMiB: LEVELDB_CACHE_MB,
    loadAverage: { before: loadBefore, after: loadAverage() },
    lsm: {
      putMs: oursPutMs,
      getMsMedian: median(getMs.lsm),
      getMs: getMs.lsm,
      getWithReadersMsMedian: median(getMs.lsmReaders),
      getWithReadersMs: getMs.lsmReaders,
      scanMsMedian: median(scanMs.lsm),
      scanMs: scanMs.lsm,
      scanned: scanned.lsm,
    },
    leveldb: {
      putMs: leveldbPutMs,
      settleMs,
      getMsMedian: median(getMs.leveldb),
      getMs: getMs.leveldb,
      scanMsMedian: median(scanMs.leveldb),
      scanMs: scanMs.leveldb,
      scanned: scanned.leveldb,
    },
    ratios: {
      put: rows[0]?.ratio,
      get: median(ratios.get),
      getWithReaders: median(ratios.getWithReaders),
      scan: median(ratios.scan),
      byRound: ratios,
    },
  });
} finally {
  for (const close of closers.reverse()) await close();
  await rm(base, { recursive: true, force: true });
}
