// move-throughput: MB/s of a verified move of one collection (runMove: copy passes, fenced final pass,
// commit record, promote, retire) beside the plain copy of the same files:
// - local -> local (two roots on one file system; streamed through the node, every file read back and
//   hashed on both sides) beside `cp -r`;
// - s3rver -> s3rver (two prefixes, server-side CopyObject, both sides hashed by reading) beside a bare
//   SDK CopyObject loop over the same objects.
// Sizes: MOVE_BENCH_MIB (default 256) local, MOVE_BENCH_S3_MIB (default 64) on s3rver. One run each.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { CopyObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { CollectionId, FileSystem } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { S3FileSystem } from "@proximadb/fs-s3";
import { startS3rver } from "@proximadb/testing/emulators/s3rver";
import { printTable, writeResult } from "../../../bench/lib.js";
import { type MoveSpec, deleteRetired, runMove } from "../src/index.js";

const MiB = 1024 * 1024;
const LOCAL_MIB = Number(process.env.MOVE_BENCH_MIB ?? 256);
const S3_MIB = Number(process.env.MOVE_BENCH_S3_MIB ?? 64);
const FILE_MIB = 8;
const COLLECTION = "bench" as CollectionId;

const hooks = { fenced: <T>(work: () => Promise<T>) => work(), afterCommit: async () => undefined };
const spec = (from: string, to: string): MoveSpec => ({
  id: "bench",
  collection: COLLECTION,
  component: "viper",
  from,
  to,
});
const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const chunk = (i: number) => Buffer.alloc(FILE_MIB * MiB, (i * 37) & 0xff);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const rows: Record<string, unknown>[] = [];
const figures: Record<string, unknown> = { loadAverage: os.loadavg() };

// ---- local -> local
{
  const dir = await mkdtemp(join(tmpdir(), "pdb-bench-move-"));
  try {
    const files = Math.max(1, Math.round(LOCAL_MIB / FILE_MIB));
    const bytes = files * FILE_MIB * MiB;
    await mkdir(join(dir, "a", "bench", "vectors"), { recursive: true });
    await mkdir(join(dir, "b"), { recursive: true });
    await mkdir(join(dir, "cp"), { recursive: true });
    for (let i = 0; i < files; i++)
      await writeFile(join(dir, "a", "bench", "vectors", `part-${i}.parquet`), chunk(i));
    const cpMs = await timed(async () => {
      const r = spawnSync("cp", ["-r", join(dir, "a", "bench"), join(dir, "cp", "bench")]);
      if (r.status !== 0) throw new Error(`cp -r failed: ${r.stderr}`);
      spawnSync("sync");
    });
    const a: FileSystem = new LocalFileSystem(join(dir, "a"));
    const b: FileSystem = new LocalFileSystem(join(dir, "b"));
    const moveMs = await timed(() => runMove(a, b, spec(a.root.url, b.root.url), hooks));
    await deleteRetired(a);
    rows.push(
      {
        case: "local -> local",
        what: "runMove (verified)",
        MiB: bytes / MiB,
        ms: moveMs,
        "MB/s": mbps(bytes, moveMs),
      },
      { case: "local -> local", what: "cp -r + sync", MiB: bytes / MiB, ms: cpMs, "MB/s": mbps(bytes, cpMs) },
    );
    figures.local = { bytes, moveMs, cpMs, ratio: cpMs / moveMs };
    await Promise.all([a.close(), b.close()]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- s3rver -> s3rver
{
  const s3 = await startS3rver({ buckets: ["bench-a", "bench-b"] });
  try {
    const opts = {
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: s3.credentials,
    };
    const client = new S3Client(s3.clientConfig);
    const files = Math.max(1, Math.round(S3_MIB / FILE_MIB));
    const bytes = files * FILE_MIB * MiB;
    for (let i = 0; i < files; i++)
      await client.send(
        new PutObjectCommand({
          Bucket: "bench-a",
          Key: `src/bench/vectors/part-${i}.parquet`,
          Body: chunk(i),
        }),
      );
    const listed = await client.send(new ListObjectsV2Command({ Bucket: "bench-a", Prefix: "src/" }));
    const sdkMs = await timed(async () => {
      for (const o of listed.Contents ?? [])
        await client.send(
          new CopyObjectCommand({ Bucket: "bench-b", Key: `sdk/${o.Key}`, CopySource: `bench-a/${o.Key}` }),
        );
    });
    const a = new S3FileSystem("s3://bench-a/src", opts);
    const b = new S3FileSystem("s3://bench-b/dst", opts);
    const moveMs = await timed(() => runMove(a, b, spec(a.root.url, b.root.url), hooks));
    await deleteRetired(a);
    rows.push(
      {
        case: "s3rver -> s3rver",
        what: "runMove (CopyObject, verified)",
        MiB: bytes / MiB,
        ms: moveMs,
        "MB/s": mbps(bytes, moveMs),
      },
      {
        case: "s3rver -> s3rver",
        what: "SDK CopyObject loop",
        MiB: bytes / MiB,
        ms: sdkMs,
        "MB/s": mbps(bytes, sdkMs),
      },
    );
    figures.s3 = { bytes, moveMs, sdkMs, ratio: sdkMs / moveMs };
    client.destroy();
    await Promise.all([a.close(), b.close()]);
  } finally {
    await s3.stop();
  }
}

printTable("move-throughput (ratio = baseline time / move time; goal >= 0.8)", rows);
console.log(
  `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
writeResult("mover", "move-throughput", { ...figures, rows });
