/**
 * viper-flush: 100,000 records of dimension 128 per flush, through VIPER (validate, encode, stage,
 * durable write, same-root commit) beside the same batch written with the Parquet library directly
 * (apache-arrow + parquet-wasm, then a durable file write), in the same run. hyparquet-writer, the
 * other candidate measured when choosing the library, runs once for reference.
 * Run: pnpm --filter @proximadb/viper bench viper-flush
 */
import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { parquetWriteBuffer } from "hyparquet-writer";
import * as pw from "parquet-wasm";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.ts";
import { type VectorRecord, encodeParquet } from "../src/index.js";
import { localViper, records } from "./common.ts";

const N = Number(process.env.VIPER_BENCH_RECORDS ?? 100_000);
const DIM = 128;
const RUNS = Number(process.env.VIPER_BENCH_RUNS ?? 5);

async function writeDurable(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, "w");
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The batch written straight with apache-arrow + parquet-wasm: what VIPER's format layer does, minus VIPER. */
function directParquetWasm(batch: readonly VectorRecord[]): Uint8Array {
  const n = batch.length;
  const flat = new Float32Array(n * DIM);
  const ids: string[] = [];
  const meta: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = batch[i] as VectorRecord;
    flat.set(r.vector as Float32Array, i * DIM);
    ids.push(r.id);
    meta.push(JSON.stringify(r.metadata));
  }
  const type = new arrow.FixedSizeList(DIM, new arrow.Field("item", new arrow.Float32(), false));
  const table = new arrow.Table({
    id: arrow.vectorFromArray(ids, new arrow.Utf8()),
    vector: arrow.makeVector(
      arrow.makeData({
        type,
        length: n,
        nullCount: 0,
        child: arrow.makeData({ type: new arrow.Float32(), length: n * DIM, data: flat }),
      }),
    ),
    metadata: arrow.vectorFromArray(meta, new arrow.Utf8()),
    sequence: arrow.makeVector(new BigInt64Array(n).fill(1n)),
    deleted: arrow.vectorFromArray(new Array<boolean>(n).fill(false), new arrow.Bool()),
  });
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.SNAPPY)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(n)
    .build();
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(table, "stream")), props);
}

/** The batch written with hyparquet-writer (LIST<FLOAT> through its Dremel encoder). */
function directHyparquet(batch: readonly VectorRecord[]): Uint8Array {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: "id", data: batch.map((r) => r.id) },
      { name: "vector", data: batch.map((r) => Array.from(r.vector as Float32Array)) },
      { name: "metadata", data: batch.map((r) => JSON.stringify(r.metadata)) },
      { name: "sequence", data: new BigInt64Array(batch.length).fill(1n) },
      { name: "deleted", data: new Array<boolean>(batch.length).fill(false) },
    ],
    schema: [
      { name: "root", num_children: 5 },
      { name: "id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
      { name: "vector", repetition_type: "REQUIRED", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "REQUIRED" },
      { name: "metadata", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
      { name: "sequence", type: "INT64", repetition_type: "REQUIRED" },
      { name: "deleted", type: "BOOLEAN", repetition_type: "REQUIRED" },
    ],
    rowGroupSize: batch.length,
  });
  return new Uint8Array(buf);
}

const { dir, viper } = await localViper();
try {
  const batch = records(N, DIM);
  let bytes = 0;
  let k = 0;
  // Interleave the two so both see the same machine state.
  const direct: number[] = [];
  const through: number[] = [];
  const format: number[] = [];
  const flat = new Float32Array(N * DIM);
  for (const [i, r] of batch.entries()) flat.set(r.vector as Float32Array, i * DIM);
  const columns = {
    dimension: DIM,
    ids: batch.map((r) => r.id),
    vectors: flat,
    metadata: batch.map((r) => JSON.stringify(r.metadata)),
    sequences: new Array<number>(N).fill(1),
    deleted: new Array<boolean>(N).fill(false),
  };
  for (let r = 0; r < RUNS + 1; r++) {
    const [d] = await timeRuns(
      async () => {
        const out = directParquetWasm(batch);
        await writeDurable(join(dir, `direct-${k++}.parquet`), out);
        bytes = out.byteLength;
      },
      1,
      0,
    );
    const [v] = await timeRuns(() => viper.flush(`bench${r}`, batch), 1, 0);
    const [e] = await timeRuns(
      () => writeDurable(join(dir, `format-${k++}.parquet`), encodeParquet(columns)),
      1,
      0,
    );
    if (r > 0) {
      direct.push(d as number);
      through.push(v as number);
      format.push(e as number);
    }
  }
  const [hyp] = await timeRuns(
    async () => writeDurable(join(dir, "hyparquet.parquet"), directHyparquet(batch)),
    1,
    0,
  );
  const row = (name: string, ms: number[]) => ({
    writer: name,
    median_ms: median(ms),
    records_per_s: Math.round(N / (median(ms) / 1000)),
  });
  const rows = [
    row("parquet-wasm + apache-arrow, direct", direct),
    row("VIPER flush (parquet-wasm)", through),
    row("hyparquet-writer, direct (1 run)", [hyp as number]),
    row("VIPER format layer only (pre-built columns)", format),
  ];
  const ratio = median(through) / median(direct);
  const engineRatio = median(through) / median(format);
  printTable(
    `viper-flush: ${N.toLocaleString("en-US")} records × dim ${DIM}, ${(bytes / 1e6).toFixed(1)} MB per file, ${RUNS} runs`,
    [
      ...rows,
      { writer: "ratio VIPER / direct library (goal ≤ 1.2)", median_ms: ratio },
      { writer: "ratio VIPER / format layer only", median_ms: engineRatio },
    ],
  );
  writeResult("viper", "flush", {
    records: N,
    dimension: DIM,
    runs: RUNS,
    fileBytes: bytes,
    directMs: direct,
    viperMs: through,
    hyparquetMs: [hyp],
    formatLayerMs: format,
    directRecordsPerSecond: rows[0]?.records_per_s,
    viperRecordsPerSecond: rows[1]?.records_per_s,
    hyparquetRecordsPerSecond: rows[2]?.records_per_s,
    overheadRatio: ratio,
    engineOverheadRatio: engineRatio,
  });
} finally {
  await viper.close();
  await rm(dir, { recursive: true, force: true });
}
