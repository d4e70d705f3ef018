import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService, type FileSystem, type StorageRoot } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { MemoryFileSystem, createMemoryRoots } from "@proximadb/fs-memory";
import { S3FileSystem } from "@proximadb/fs-s3";
import type { S3rverInstance } from "@proximadb/testing/emulators/s3rver";
import { seededRandom } from "@proximadb/testing/fault-proxy";
import { seededVectors } from "@proximadb/testing/random";
import {
  type IndexEngineOptions,
  IndexEngine,
  type IndexRecord,
  type Metric,
  distance,
} from "../src/index.js";

/** A deterministic pseudo-random generator (mulberry32). */
export const rng = seededRandom;

/** A set of index roots that survives engine restarts. */
export interface RootsFixture {
  readonly urls: string[];
  openFileSystem(root: StorageRoot): FileSystem;
  dispose(): Promise<void>;
}

/** `count` memfs roots on one volume (the memfs harness of @proximadb/fs-memory). */
export function memoryRoots(count: number): RootsFixture {
  const tree: Record<string, Record<string, string>> = {};
  for (let i = 1; i <= count; i++) tree[`mem://index${i}`] = {};
  const { volume, roots } = createMemoryRoots(tree);
  return {
    urls: roots.map((r) => r.url),
    openFileSystem: (root) => new MemoryFileSystem(root, { volume }),
    dispose: async () => {},
  };
}

export async function localRoots(count: number): Promise<RootsFixture & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "index-test-"));
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    await mkdir(join(dir, `root${i + 1}`), { recursive: true });
    urls.push(`file://${dir}/root${i + 1}`);
  }
  return {
    dir,
    urls,
    openFileSystem: (root) => new LocalFileSystem(root),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

export async function s3Roots(s3: S3rverInstance, count: number): Promise<RootsFixture> {
  const prefix = `t${Math.random().toString(36).slice(2, 10)}`;
  const urls: string[] = [];
  for (let i = 0; i < count; i++) {
    const bucket = `index-${prefix}-${i + 1}`;
    await s3.createBucket(bucket);
    urls.push(`s3://${bucket}/data`);
  }
  return {
    urls,
    openFileSystem: (root) => new S3FileSystem(root, { ...s3.clientConfig }),
    dispose: async () => {},
  };
}

/** Opens the index engine over the fixture's roots with a fresh assignment service (a restart, as far as it knows). */
export async function openIndex(
  fixture: RootsFixture,
  options: Partial<IndexEngineOptions> = {},
): Promise<IndexEngine> {
  const service = new AssignmentService({ components: { index: { roots: fixture.urls } } });
  return IndexEngine.open({
    service,
    openFileSystem: (r) => fixture.openFileSystem(r),
    nodeId: "node-a",
    ...options,
  });
}

/** `count` vectors of dimension `dim` as one flat array: uniform in [-1, 1), or around 100 Gaussian centres. */
export const vectors = seededVectors;

/** Rows of a flat array as records `<prefix><i>`. */
export function recordsOf(flat: Float32Array, dim: number, prefix = "r"): IndexRecord[] {
  const out: IndexRecord[] = [];
  for (let i = 0; i < flat.length / dim; i++)
    out.push({ id: `${prefix}${i}`, vector: flat.subarray(i * dim, (i + 1) * dim) });
  return out;
}

/** The exact `k` nearest records by brute force. */
export function exactNearest(
  metric: Metric,
  records: readonly IndexRecord[],
  query: ArrayLike<number>,
  k: number,
): string[] {
  const q = Array.from(query);
  const best: { id: string; d: number }[] = [];
  for (const r of records) {
    const d = distance(metric, r.vector, q);
    if (best.length < k || d < (best[best.length - 1] as { d: number }).d) {
      best.push({ id: r.id, d });
      best.sort((a, b) => a.d - b.d);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.id);
}

/** Mean recall@k of the engine's answers against brute force over `queries`. */
export async function recallAt(
  index: IndexEngine,
  collection: string,
  metric: Metric,
  records: readonly IndexRecord[],
  queries: Float32Array,
  dim: number,
  k: number,
): Promise<number> {
  let hit = 0;
  const n = queries.length / dim;
  for (let q = 0; q < n; q++) {
    const query = queries.subarray(q * dim, (q + 1) * dim);
    const truth = new Set(exactNearest(metric, records, query, k));
    for (const h of await index.search(collection, query, { k })) if (truth.has(h.id)) hit++;
  }
  return hit / (n * k);
}

/** Every key of a root under `prefix`. */
export async function keysOf(fs: FileSystem, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const page of fs.list(prefix)) for (const f of page.files) out.push(f.key);
  return out.sort();
}
