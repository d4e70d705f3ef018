/**
 * viper-get: point reads of single records from a collection of 1,000,000 records of dimension 128 on local
 * disk, beside the LSM engine's get of the same records (stored as the node stores them: `u32 dim | floats |
 * JSON`) in the same run, and beside the scanning get VIPER had before its id index (a few probes only).
 *
 * The data set is built once per run in a temporary folder (10 flushes of 100,000 records; the LSM engine
 * gets the same records in batches of 1,000), then measured: the first get (which builds the id index, and
 * the heap it takes), then PROBES random gets one at a time (median, p99, file reads and bytes per get),
 * the same on a collection of 10,000 records (size independence), the same after compacting the big
 * collection, and the LSM engine's gets of the same ids.
 *
 * Run: pnpm --filter @proximadb/viper bench viper-get
 * Knobs: VIPER_GET_RECORDS (1000000), VIPER_GET_BATCH (100000), VIPER_GET_PROBES (20000),
 *        VIPER_GET_OLD_PROBES (5), VIPER_GET_SMALL (10000), VIPER_GET_COMPACT (1; 0 skips the compaction)
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService, type FileSystem, type PositionalReader, listAll } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { LsmEngine } from "@proximadb/lsm";
import { median, printTable, writeResult } from "../../../bench/lib.ts";
import { type VectorRecord, ViperEngine, decodeKeys, decodeParquet, liveSet } from "../src/index.js";
import { records } from "./common.ts";

const N = Number(process.env.VIPER_GET_RECORDS ?? 1_000_000);
const BATCH = Number(process.env.VIPER_GET_BATCH ?? 100_000);
const PROBES = Number(process.env.VIPER_GET_PROBES ?? 20_000);
const OLD_PROBES = Number(process.env.VIPER_GET_OLD_PROBES ?? 5);
const SMALL = Number(process.env.VIPER_GET_SMALL ?? 10_000);
const COMPACT = process.env.VIPER_GET_COMPACT !== "0";
const DIM = 128;
const LSM_BATCH = 1000;

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the bench's file systems were asked for while a phase ran. */
const io = { reads: 0, bytes: 0, lists: 0 };
function counted(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "list")
        return (...args: unknown[]) => {
          io.lists++;
          return value.apply(target, args);
        };
      if (prop === "read")
        return async (...args: unknown[]) => {
          const out = (await value.apply(target, args)) as Uint8Array;
          io.reads++;
          io.bytes += out.byteLength;
          return out;
        };
      if (prop === "openReader")
        return async (key: string): Promise<PositionalReader> => {
          const r = (await value.call(target, key)) as PositionalReader;
          return {
            read: async (offset, length) => {
              const out = await r.read(offset, length);
              io.reads++;
              io.bytes += out.byteLength;
              return out;
            },
            close: () => r.close(),
          };
        };
      return value.bind(target);
    },
  });
}

/** The LSM value format of the node (`apps/node/src/engines/lsm.ts`). */
function lsmValue(r: VectorRecord): Uint8Array {
  const v = r.vector as Float32Array;
  const meta = encoder.encode(JSON.stringify(r.metadata));
  const out = new Uint8Array(4 + v.length * 4 + meta.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, v.length, true);
  for (let i = 0; i < v.length; i++) view.setFloat32(4 + i * 4, v[i] as number, true);
  out.set(meta, 4 + v.length * 4);
  return out;
}
function fromLsmValue(value: Uint8Array): { vector: Float32Array; metadata: unknown } {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const dim = view.getUint32(0, true);
  const vector = new Float32Array(dim);
  for (let i = 0; i < dim; i++) vector[i] = view.getFloat32(4 + i * 4, true);
  return { vector, metadata: JSON.parse(decoder.decode(value.subarray(4 + dim * 4))) };
}

/** VIPER's get before the id index: list, then whole files newest first until the id turns up. */
async function scanningGet(
  fs: FileSystem,
  collection: string,
  id: string,
): Promise<Float32Array | undefined> {
  const { live } = liveSet((await listAll(fs, `${collection}/vectors/`)).files);
  for (let i = live.length - 1; i >= 0; i--) {
    const key = (live[i] as (typeof live)[number]).key;
    const bytes = await fs.read(key);
    const row = decodeKeys(bytes, key).ids.indexOf(id);
    if (row < 0) continue;
    const cols = decodeParquet(bytes, key);
    return cols.vectors.slice(row * DIM, (row + 1) * DIM);
  }
  return undefined;
}

interface Timing {
  medianMs: number;
  p99Ms: number;
  readsPerGet: number;
  bytesPerGet: number;
  listsPerGet: number;
}

async function timeGets(ids: readonly string[], get: (id: string) => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < Math.min(1000, ids.length); i++) await get(ids[i] as string); // warm-up
  gc();
  io.reads = 0;
  io.bytes = 0;
  io.lists = 0;
  const times = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const t0 = performance.now();
    if ((await get(ids[i] as string)) === undefined) throw new Error(`missing ${ids[i]}`);
    times[i] = performance.now() - t0;
  }
  times.sort();
  return {
    medianMs: median(Array.from(times)),
    p99Ms: times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] as number,
    readsPerGet: io.reads / ids.length,
    bytesPerGet: io.bytes / ids.length,
    listsPerGet: io.lists / ids.length,
  };
}

const dir = await mkdtemp(join(tmpdir(), "viper-get-bench-"));
try {
  await mkdir(join(dir, "viper"));
  await mkdir(join(dir, "lsm"));
  const viper = await ViperEngine.open({
    service: new AssignmentService({ components: { viper: { roots: [`file://${dir}/viper`] } } }),
    openFileSystem: (r) => counted(new LocalFileSystem(r)),
    nodeId: "bench",
  });
  const lsm = await LsmEngine.open({
    service: new AssignmentService({ components: { lsm: { roots: [`file://${dir}/lsm`] } } }),
    openFileSystem: (r) => counted(new LocalFileSystem(r)),
    nodeId: "bench",
  });

  // Build once: the same records into both engines.
  const t0 = performance.now();
  let viperBuildMs = 0;
  for (let start = 0; start < N; start += BATCH) {
    const batch = records(Math.min(BATCH, N - start), DIM, start);
    const tv = performance.now();
    await viper.flush("big", batch);
    viperBuildMs += performance.now() - tv;
    for (let i = 0; i < batch.length; i += LSM_BATCH) {
      await lsm.batch(
        "big",
        batch.slice(i, i + LSM_BATCH).map((r) => ({
          type: "put" as const,
          key: encoder.encode(r.id),
          value: lsmValue(r),
        })),
      );
    }
  }
  await lsm.flush("big");
  await viper.flush("small", records(SMALL, DIM, 0));
  const buildMs = performance.now() - t0;
  const viperFiles = (await viper.files("big"))?.live.length ?? 0;
  console.log(
    `built ${N} records in ${(buildMs / 1000).toFixed(1)} s (VIPER flushes ${(viperBuildMs / 1000).toFixed(1)} s, ${viperFiles} files)`,
  );

  const probes = Array.from({ length: PROBES }, () => `doc-${Math.floor(Math.random() * N)}`);
  const smallProbes = Array.from({ length: PROBES }, () => `doc-${Math.floor(Math.random() * SMALL)}`);

  // First read of the collection: builds the id index from one listing and the files' key columns.
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  io.reads = 0;
  io.bytes = 0;
  const tFirst = performance.now();
  await viper.get("big", probes[0] as string);
  const firstGetMs = performance.now() - tFirst;
  const indexIo = { reads: io.reads, bytes: io.bytes };
  gc();
  const indexBytesPerRecord = (process.memoryUsage().heapUsed - heapBefore) / N;

  // Cross-check a few records between the two engines (not timed).
  for (const id of probes.slice(0, 200)) {
    const a = (await viper.get("big", id))?.vector;
    const b = fromLsmValue((await lsm.get("big", encoder.encode(id))) as Uint8Array).vector;
    if (!a || a.length !== b.length || a.some((x, i) => x !== b[i]))
      throw new Error(`engines disagree on ${id}`);
  }

  const viperGet = await timeGets(probes, (id) => viper.get("big", id));
  await viper.get("small", "doc-0"); // index of the small collection
  const viperSmall = await timeGets(smallProbes, (id) => viper.get("small", id));
  const lsmGet = await timeGets(probes, async (id) => {
    const v = await lsm.get("big", encoder.encode(id));
    return v && fromLsmValue(v);
  });
  const location = viper.locate("big");
  const fs = location?.fs as FileSystem;
  const oldTimes: number[] = [];
  for (const id of probes.slice(0, OLD_PROBES)) {
    const t = performance.now();
    if (!(await scanningGet(fs, "big", id))) throw new Error(`missing ${id}`);
    oldTimes.push(performance.now() - t);
  }
  const oldMedian = median(oldTimes);

  let compacted: (Timing & { compactMs: number; files: number }) | undefined;
  if (COMPACT) {
    const tc = performance.now();
    const result = await viper.compact("big");
    const compactMs = performance.now() - tc;
    compacted = {
      ...(await timeGets(probes, (id) => viper.get("big", id))),
      compactMs,
      files: result.outputs.length,
    };
  }
  await viper.close();
  await lsm.close();

  const row = (what: string, t: Timing) => ({
    what,
    median_ms: t.medianMs,
    p99_ms: t.p99Ms,
    "reads/get": t.readsPerGet,
    "KiB/get": t.bytesPerGet / 1024,
    "lists/get": t.listsPerGet,
    "× LSM median": t.medianMs / lsmGet.medianMs,
  });
  printTable(
    `viper-get: ${N.toLocaleString("en-US")} records × dim ${DIM} in ${viperFiles} files, ${PROBES.toLocaleString("en-US")} random gets one at a time, local disk`,
    [
      row(`VIPER get (${viperFiles} flush files)`, viperGet),
      ...(compacted ? [row(`VIPER get after compaction (${compacted.files} files)`, compacted)] : []),
      row(`VIPER get, collection of ${SMALL.toLocaleString("en-US")}`, viperSmall),
      row("LSM get, same ids (anchor)", lsmGet),
      {
        what: `VIPER scanning get before the index (${OLD_PROBES} probes)`,
        median_ms: oldMedian,
        "× LSM median": oldMedian / lsmGet.medianMs,
      },
    ],
  );
  printTable("first read of the collection (builds the id index)", [
    {
      first_get_ms: firstGetMs,
      file_reads: indexIo.reads,
      MiB_read: indexIo.bytes / 1024 / 1024,
      heap_bytes_per_record: indexBytesPerRecord,
      ...(compacted ? { compact_s: compacted.compactMs / 1000 } : {}),
    },
  ]);
  writeResult("viper", "get", {
    records: N,
    dimension: DIM,
    flushBatch: BATCH,
    files: viperFiles,
    probes: PROBES,
    buildMs,
    firstGet: {
      ms: firstGetMs,
      fileReads: indexIo.reads,
      bytesRead: indexIo.bytes,
      heapBytesPerRecord: indexBytesPerRecord,
    },
    viper: viperGet,
    viperAfterCompaction: compacted ?? null,
    viperSmall: { records: SMALL, ...viperSmall },
    lsm: lsmGet,
    scanningGetBefore: { probes: OLD_PROBES, medianMs: oldMedian, runs: oldTimes },
    ratioToLsm: viperGet.medianMs / lsmGet.medianMs,
    speedupOverScanning: oldMedian / viperGet.medianMs,
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
