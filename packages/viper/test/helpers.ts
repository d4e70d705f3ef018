import { AssignmentService, type FileSystem } from "@proximadb/core";
import { seededRandom } from "@proximadb/testing/random";
import type { RootSet } from "@proximadb/testing-backends";
import { type VectorRecord, ViperEngine } from "../src/index.js";

/** Roots VIPER can open: a RootSet from `@proximadb/testing-backends` (they survive engine restarts). */
export type ViperRoots = Pick<RootSet, "urls" | "openFileSystem">;

/** What {@link openViper} may change about the engine it opens. */
export interface OpenViperOptions {
  /** Wraps each root's file system (a counting or failing wrapper). */
  readonly wrap?: (fs: FileSystem) => FileSystem;
  /** VIPER's row-group target (small in tests, so files have many row groups). */
  readonly rowGroupBytes?: number;
}

/** Opens VIPER over the roots with a fresh assignment service (a restart, as far as VIPER knows). */
export async function openViper(
  roots: ViperRoots,
  nodeId = "node-a",
  options: OpenViperOptions = {},
): Promise<ViperEngine> {
  const service = new AssignmentService({ components: { viper: { roots: roots.urls } } });
  const wrap = options.wrap ?? ((fs: FileSystem) => fs);
  return ViperEngine.open({
    service,
    openFileSystem: (r) => wrap(roots.openFileSystem(r)),
    nodeId,
    ...(options.rowGroupBytes === undefined ? {} : { rowGroupBytes: options.rowGroupBytes }),
  });
}

/** `count` records `<prefix>-<i>` with vectors derived from `seed`. */
export function makeRecords(
  count: number,
  dimension: number,
  options: { prefix?: string; seed?: number; start?: number } = {},
): VectorRecord[] {
  const next = seededRandom(options.seed ?? 1);
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

/** Every key of a file system under `prefix`, sorted (`roots.keys(url, prefix)` where the URL is at hand). */
export async function keysOf(fs: FileSystem, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const page of fs.list(prefix)) for (const f of page.files) out.push(f.key);
  return out.sort();
}
