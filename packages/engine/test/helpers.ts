import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileSystem, StorageRoot } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";

/** A set of roots on one backend; `open` makes a fresh FileSystem (as a restarted node would). */
export interface Tier {
  readonly name: string;
  readonly urls: string[];
  open(root: StorageRoot): FileSystem;
  /** Sets a file's modification time (for staleness). */
  touch(url: string, key: string, mtimeMs: number): Promise<void>;
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
    async touch(url, key, mtimeMs) {
      volume.utimesSync(`/${url.slice("mem://".length)}/${key}`, mtimeMs / 1000, mtimeMs / 1000);
    },
    async cleanup() {},
  };
}

export async function localTier(count = 2): Promise<Tier> {
  const base = await mkdtemp(join(tmpdir(), "proximadb-engine-"));
  const urls: string[] = [];
  for (let i = 1; i <= count; i++) {
    await mkdir(join(base, `disk${i}`));
    urls.push(`file://${base}/disk${i}`);
  }
  const { utimes } = await import("node:fs/promises");
  return {
    name: "local disk",
    urls,
    open: (root) => new LocalFileSystem(root),
    async touch(url, key, mtimeMs) {
      await utimes(`${url.slice("file://".length)}/${key}`, mtimeMs / 1000, mtimeMs / 1000);
    },
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}
