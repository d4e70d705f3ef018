import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService, type FileSystem, type StorageRoot } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import { S3FileSystem } from "@proximadb/fs-s3";
import type { S3rverInstance } from "@proximadb/testing/emulators/s3rver";
import { type VectorRecord, ViperEngine } from "../src/index.js";
import { seededRandom } from "@proximadb/testing/fault-proxy";

/** A set of storage roots that survives engine restarts. */
export interface RootsFixture {
  readonly urls: string[];
  openFileSystem(root: StorageRoot): FileSystem;
  dispose(): Promise<void>;
}

export function memoryRoots(count: number): RootsFixture {
  const volume = new Volume();
  const urls = Array.from({ length: count }, (_, i) => `mem://viper${i + 1}`);
  for (const u of urls) volume.mkdirSync(`/${u.slice("mem://".length)}`, { recursive: true });
  return { urls, openFileSystem: (root) => new MemoryFileSystem(root, { volume }), dispose: async () => {} };
}

export async function localRoots(count: number): Promise<RootsFixture & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), "viper-"));
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
    const bucket = `viper-${prefix}-${i + 1}`;
    await s3.createBucket(bucket);
    urls.push(`s3://${bucket}/data`);
  }
  return {
    urls,
    openFileSystem: (root) => new S3FileSystem(root, { ...s3.clientConfig }),
    dispose: async () => {},
  };
}

/** Opens VIPER over the fixture's roots with a fresh assignment service (a restart, as far as VIPER knows). */
export async function openViper(fixture: RootsFixture, nodeId = "node-a"): Promise<ViperEngine> {
  const service = new AssignmentService({ components: { viper: { roots: fixture.urls } } });
  return ViperEngine.open({ service, openFileSystem: (r) => fixture.openFileSystem(r), nodeId });
}

/** A deterministic pseudo-random generator (mulberry32). */
export const rng = seededRandom;

/** `count` records `<prefix>-<i>` with vectors derived from `seed`. */
export function makeRecords(
  count: number,
  dimension: number,
  options: { prefix?: string; seed?: number; start?: number } = {},
): VectorRecord[] {
  const next = rng(options.seed ?? 1);
  const out: VectorRecord[] = [];
  for (let i = 0; i < count; i++) {
    const n = (options.start ?? 0) + i;
    const vector = new Float32Array(dimension);
    for (let j = 0; j < dimension; j++) vector[j] = Math.fround(next() * 2 - 1);
    out.push({
      id: `${options.prefix ?? "rec"}-${n}`,
      vector,
      metadata: { n, tag: `t${n % 7}`, text: "naïve ☃" },
    });
  }
  return out;
}

/** What a scan must return after applying batches in order: newest version wins, tombstones hide. */
export function expected(batches: readonly (readonly VectorRecord[])[]): Map<string, VectorRecord> {
  const out = new Map<string, VectorRecord>();
  for (const batch of batches) {
    for (const r of batch) {
      if (r.deleted) out.delete(r.id);
      else out.set(r.id, r);
    }
  }
  return out;
}

/** Scans into a plain, comparable shape sorted by id. */
export async function scanAll(
  viper: ViperEngine,
  id: string,
): Promise<{ id: string; vector: number[]; metadata: unknown }[]> {
  const out: { id: string; vector: number[]; metadata: unknown }[] = [];
  for await (const r of viper.scan(id))
    out.push({ id: r.id, vector: Array.from(r.vector), metadata: r.metadata });
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function plain(
  records: Iterable<VectorRecord>,
): { id: string; vector: number[]; metadata: unknown }[] {
  return [...records]
    .map((r) => ({ id: r.id, vector: Array.from(r.vector ?? []), metadata: r.metadata ?? null }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every key of a fixture root under `prefix`. */
export async function keysOf(fs: FileSystem, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const page of fs.list(prefix)) for (const f of page.files) out.push(f.key);
  return out.sort();
}
