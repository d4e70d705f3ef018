// move-throughput: MB/s of a verified move of one collection (runMove: copy passes, fenced final pass,
// commit record, promote, retire) beside the plain copy of the same files, run by run (alternating):
// - local -> local (two roots on one file system; kernel copy, the source hashed while it copies, the
//   copy read back and hashed) beside `cp -r` + `sync`;
// - s3rver -> s3rver (two buckets, server-side CopyObject verified by both servers' MD5 ETags — the
//   listing's and the CopyObject response's — nothing read back) beside a bare SDK CopyObject loop over
//   the same objects.
// The copy goes straight to `<collection>/` behind the move marker (no promote); a move also retires the
// source (`_retired/`), on S3 another CopyObject + DeleteObject per file, so "live" (the commit and
// switch-over) is printed beside "total".
// Sizes: MOVE_BENCH_MIB (default 1024) local, MOVE_BENCH_S3_MIB (default 1024) on s3rver, in 8 MiB
// files; MOVE_BENCH_RUNS (default 3) runs of each, medians reported.
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { CopyObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { CollectionId, FileSystem } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { S3FileSystem } from "@proximadb/fs-s3";
import { startS3rver } from "@proximadb/testing/emulators/s3rver";
import { median, printTable, writeResult } from "../../../bench/lib.js";
import { deleteRetired, runMove } from "../src/index.js";

const MiB = 1024 * 1024;
const LOCAL_MIB = Number(process.env.MOVE_BENCH_MIB ?? 1024);
const S3_MIB = Number(process.env.MOVE_BENCH_S3_MIB ?? 1024);
const RUNS = Math.max(1, Number(process.env.MOVE_BENCH_RUNS ?? 3));
const FILE_MIB = 8;
const COLLECTION = "bench" as CollectionId;

const mbps = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const chunk = (i: number) => Buffer.alloc(FILE_MIB * MiB, (i * 37) & 0xff);
const filesOf = (mib: number) => Math.max(1, Math.round(mib / FILE_MIB));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** One verified move of the collection from `a` to `b`: total ms, and ms until it was live at `b`. */
async function timedMove(a: FileSystem, b: FileSystem, run: number): Promise<{ ms: number; liveMs: number }> {
  const t0 = performance.now();
  let liveMs = 0;
  const spec = { id: `bench-${run}`, collection: COLLECTION, component: "viper" as const };
  await runMove(
    a,
    b,
    { ...spec, from: a.root.url, to: b.root.url },
    {
      fenced: (work) => work(),
      afterCommit: async () => {
        liveMs = performance.now() - t0;
      },
    },
  );
  const ms = performance.now() - t0;
  await deleteRetired(a);
  return { ms, liveMs };
}

const rows: Record<string, unknown>[] = [];
const figures: Record<string, unknown> = { runs: RUNS };

/**
 * Runs the baseline and the move `RUNS` times each (alternating; each move goes back the other way),
 * adds the table rows and returns the medians and the ratio (baseline time / move time).
 */
async function compare(
  label: string,
  bytes: number,
  what: { move: string; baseline: string },
  baseline: (run: number) => Promise<number>,
  roots: [FileSystem, FileSystem],
) {
  const base: number[] = [];
  const moves: { ms: number; liveMs: number }[] = [];
  for (let run = 0; run < RUNS; run++) {
    // Each timed part starts with no dirty pages left by the previous one (whose write-back would
    // otherwise be paid by whichever runs next: s3rver's copies are files on this disk too).
    spawnSync("sync");
    base.push(await baseline(run));
    const [from, to] = run % 2 === 0 ? roots : [roots[1], roots[0]];
    spawnSync("sync");
    moves.push(await timedMove(from, to, run));
  }
  const baseMs = median(base);
  const moveMs = median(moves.map((m) => m.ms));
  const liveMs = median(moves.map((m) => m.liveMs));
  const row = (w: string, ms: number) => ({
    case: label,
    what: w,
    MiB: bytes / MiB,
    "median ms": ms,
    "MB/s": mbps(bytes, ms),
    ratio: baseMs / ms,
  });
  rows.push(
    row(`${what.move}, total`, moveMs),
    row(`${what.move}, until live`, liveMs),
    row(what.baseline, baseMs),
  );
  return {
    bytes,
    baselineMs: base,
    moveMs: moves.map((m) => m.ms),
    liveMs: moves.map((m) => m.liveMs),
    medians: { baselineMs: baseMs, moveMs, liveMs },
    ratio: baseMs / moveMs,
    ratioUntilLive: baseMs / liveMs,
  };
}

// ---- local -> local
{
  const dir = await mkdtemp(join(tmpdir(), "pdb-bench-move-"));
  try {
    const files = filesOf(LOCAL_MIB);
    await mkdir(join(dir, "a", "bench", "vectors"), { recursive: true });
    await mkdir(join(dir, "b"), { recursive: true });
    for (let i = 0; i < files; i++)
      await writeFile(join(dir, "a", "bench", "vectors", `part-${i}.parquet`), chunk(i));
    const roots: [FileSystem, FileSystem] = [
      new LocalFileSystem(join(dir, "a")),
      new LocalFileSystem(join(dir, "b")),
    ];
    spawnSync("sync");
    figures.local = await compare(
      "local -> local",
      files * FILE_MIB * MiB,
      { move: "runMove (verified)", baseline: "cp -r + sync" },
      async (run) => {
        const from = join(dir, run % 2 === 0 ? "a" : "b", "bench");
        const to = join(dir, `cp-${run}`);
        const ms = await timed(async () => {
          const r = spawnSync("cp", ["-r", from, to]);
          if (r.status !== 0) throw new Error(`cp -r failed: ${r.stderr}`);
          spawnSync("sync");
        });
        await rm(to, { recursive: true, force: true });
        return ms;
      },
      roots,
    );
    await Promise.all(roots.map((r) => r.close()));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- s3rver -> s3rver
{
  const s3 = await startS3rver({ buckets: ["bench-a", "bench-b", "bench-sdk"] });
  try {
    const opts = {
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: s3.credentials,
    };
    const client = new S3Client(s3.clientConfig);
    const files = filesOf(S3_MIB);
    for (let i = 0; i < files; i++)
      await client.send(
        new PutObjectCommand({ Bucket: "bench-a", Key: `bench/vectors/part-${i}.parquet`, Body: chunk(i) }),
      );
    const roots: [FileSystem, FileSystem] = [
      new S3FileSystem("s3://bench-a", opts),
      new S3FileSystem("s3://bench-b", opts),
    ];
    figures.s3 = await compare(
      "s3rver -> s3rver",
      files * FILE_MIB * MiB,
      { move: "runMove (CopyObject, verified)", baseline: "SDK CopyObject loop" },
      async (run) => {
        const bucket = run % 2 === 0 ? "bench-a" : "bench-b";
        const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "bench/" }));
        return timed(async () => {
          for (const o of listed.Contents ?? [])
            await client.send(
              new CopyObjectCommand({
                Bucket: "bench-sdk",
                Key: `${run}/${o.Key}`,
                CopySource: `${bucket}/${o.Key}`,
              }),
            );
        });
      },
      roots,
    );
    client.destroy();
    await Promise.all(roots.map((r) => r.close()));
  } finally {
    await s3.stop();
  }
}

figures.loadAverage = os.loadavg();
printTable(`move-throughput (median of ${RUNS}; ratio = baseline time / this time; goal >= 0.8)`, rows);
console.log(
  `load average: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
writeResult("mover", "move-throughput", { ...figures, rows });
