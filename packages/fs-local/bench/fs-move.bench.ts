// Same-root move of a 64 MB file on fs-local: one rename versus copy + delete (what a backend without
// rename does). Median of 5 runs each; the ratio says what a same-root commit saves.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFileSystem } from "@proximadb/fs-local";
import { median, printTable, writeResult } from "../../../bench/lib.js";

const SIZE = 64 * 1024 * 1024;
const RUNS = 5;
const dir = await mkdtemp(join(tmpdir(), "pdb-bench-move-"));
const fs = new LocalFileSystem(dir);

async function* body() {
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  for (let i = 0; i < SIZE / chunk.length; i++) yield chunk;
}

/** Copy + delete through this process, streaming, durable like move. */
async function copyDelete(from: string, to: string) {
  await fs.writeStream(to, fs.readStream(from), { durable: true });
  await fs.delete(from);
}

async function measure(label: string, op: (from: string, to: string) => Promise<void>) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    await fs.writeStream("coll/_staging/seg.bin", body(), { durable: true });
    const t0 = performance.now();
    await op("coll/_staging/seg.bin", "coll/live/seg.bin");
    times.push(performance.now() - t0);
    await fs.delete("coll/live/seg.bin");
  }
  return { label, times };
}

try {
  const rename = await measure("rename (fs.move)", (a, b) => fs.move(a, b));
  const copy = await measure("copy + delete", copyDelete);
  const rows = [rename, copy].map((r) => ({
    method: r.label,
    "median ms": median(r.times),
    "min ms": Math.min(...r.times),
    "max ms": Math.max(...r.times),
  }));
  const ratio = median(copy.times) / median(rename.times);
  printTable(`same-root move of a ${SIZE / 1024 / 1024} MiB file on fs-local (${RUNS} runs each)`, rows);
  console.log(`\ncopy + delete / rename: ${ratio.toFixed(1)}x`);
  writeResult("fs-local", "fs-move", {
    bytes: SIZE,
    runs: RUNS,
    renameMs: rename.times,
    copyDeleteMs: copy.times,
    renameMedianMs: median(rename.times),
    copyDeleteMedianMs: median(copy.times),
    ratio,
  });
} finally {
  await rm(dir, { recursive: true, force: true });
}
