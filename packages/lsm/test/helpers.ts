import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AssignmentService,
  type FileSystem,
  type StorageRoot,
  listAll,
  parseStorageUrl,
} from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import { LsmEngine, type LsmEngineOptions } from "../src/index.js";

/** Roots on one backend; `open` makes a fresh FileSystem, as a restarted node would. */
export interface Tier {
  readonly name: string;
  readonly urls: string[];
  open(root: StorageRoot): FileSystem;
  cleanup(): Promise<void>;
}

export async function memoryTier(count = 2): Promise<Tier> {
  const volume = new Volume();
  const urls = Array.from({ length: count }, (_, i) => `mem://disk${i + 1}`);
  for (const u of urls) volume.mkdirSync(`/${u.slice("mem://".length)}`, { recursive: true });
  return {
    name: "memfs",
    urls,
    open: (root) => new MemoryFileSystem(root, { volume }),
    cleanup: async () => {},
  };
}

export async function localTier(count = 2): Promise<Tier> {
  const base = await mkdtemp(join(tmpdir(), "proximadb-lsm-"));
  const urls: string[] = [];
  for (let i = 1; i <= count; i++) {
    await mkdir(join(base, `disk${i}`));
    urls.push(`file://${base}/disk${i}`);
  }
  return {
    name: "local disk",
    urls,
    open: (root) => new LocalFileSystem(root),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

/** Opens an LSM engine over the tier's roots with a fresh assignment service (a node start). */
export function openEngine(tier: Tier, extra: Partial<LsmEngineOptions> = {}): Promise<LsmEngine> {
  const service = new AssignmentService({ components: { lsm: { roots: tier.urls } } });
  return LsmEngine.open({
    service,
    openFileSystem: (r) => tier.open(r),
    nodeId: "node-a",
    staleStagingMs: 0,
    ...extra,
  });
}

/** Every key in a root, sorted. */
export async function keysIn(tier: Tier, url: string): Promise<string[]> {
  const fs = tier.open(parseStorageUrl(url));
  try {
    return (await listAll(fs, "")).files.map((f) => f.key).sort();
  } finally {
    await fs.close();
  }
}

const dec = new TextDecoder();
/** UTF-8 text of bytes (or undefined). */
export const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : dec.decode(b);

/** Collects a scan as `[key, value]` text pairs. */
export async function scanText(
  engine: LsmEngine,
  id: string,
  range: Parameters<LsmEngine["scan"]>[1] = {},
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const e of engine.scan(id, range)) out.push([dec.decode(e.key), dec.decode(e.value)]);
  return out;
}
