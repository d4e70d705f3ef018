// wal-replay: MB/s replayed (decode + CRC/sync checks) vs reading the same segment files raw.
import { readFile, readdir, rm, stat } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.ts";
import { type WalEncoding, decodeAvroSegment, decodeFrames } from "../src/index.js";
import { freshRoot, openWal, record } from "./util.ts";

const RECORDS = 20_000;
const MB = 1024 * 1024;
const rows: Record<string, unknown>[] = [];
const figures: Record<string, unknown> = {};

for (const encoding of ["bincode", "avro"] as WalEncoding[]) {
  const root = await freshRoot();
  const { wal } = await openWal(root.url, { encoding, sync: "none", segmentBytes: 8 * MB });
  for (let i = 0; i < RECORDS; i += 500)
    await wal.append(
      "bench",
      Array.from({ length: 500 }, (_, k) => record(i + k)),
    );
  await wal.close();
  const dir = join(root.dir, "bench");
  const files = (await readdir(dir)).map((f) => join(dir, f));
  let bytes = 0;
  for (const f of files) bytes += (await stat(f)).size;

  const replayMs = await timeRuns(async () => {
    const { wal: reader } = await openWal(root.url, { encoding });
    let n = 0;
    for await (const _ of reader.replay("bench")) n++;
    await reader.close();
    if (n !== RECORDS) throw new Error(`replayed ${n} of ${RECORDS}`);
  }, 5);
  const rawMs = await timeRuns(async () => {
    for (const f of files) await readFile(f);
  }, 5);
  // Decoding alone (CRC/sync checks included), from bytes already in memory: the CPU cost per record.
  const contents = await Promise.all(files.map((f) => readFile(f)));
  const decode = encoding === "bincode" ? decodeFrames : decodeAvroSegment;
  const decodeMs = await timeRuns(() => {
    let n = 0;
    for (const c of contents) n += decode(c).records.length;
    if (n !== RECORDS) throw new Error(`decoded ${n} of ${RECORDS}`);
  }, 5);
  const d = median(decodeMs);
  const r = median(replayMs);
  const raw = median(rawMs);
  rows.push({
    encoding,
    records: RECORDS,
    MB: bytes / MB,
    "replay ms": r,
    "replay MB/s": bytes / MB / (r / 1000),
    "decode MB/s": bytes / MB / (d / 1000),
    "decode µs/record": (d * 1000) / RECORDS,
    "raw read ms": raw,
    "raw MB/s": bytes / MB / (raw / 1000),
    "replay/raw": raw / r,
  });
  figures[encoding] = {
    records: RECORDS,
    bytes,
    replayMs,
    rawMs,
    decodeMs,
    decodeMBps: bytes / MB / (d / 1000),
    decodeMicrosPerRecord: (d * 1000) / RECORDS,
    replayMBps: bytes / MB / (r / 1000),
    rawMBps: bytes / MB / (raw / 1000),
    ratio: raw / r,
  };
  await rm(root.dir, { recursive: true, force: true });
}
printTable(
  `wal-replay: 20,000 records of 1 KiB, local disk (5 runs, medians; replay = open + recover + replay; decode = decoding the bytes in memory; raw = readFile of the same segments; load average ${os.loadavg()[0]?.toFixed(1)})`,
  rows,
);
writeResult("wal", "wal-replay", { ...figures, loadAverage: os.loadavg() });
