import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { FileSystem } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { createMemoryRoots, MemoryFileSystem, type Volume } from "@proximadb/fs-memory";

/** A file in a test tree: its content, and optionally its modification time. */
export type FileSpec = string | { data: string; mtimeMs?: number };
/** Root name → key → file. Root names are short words (`r0`, `disk-a`). */
export type Tree = Record<string, Record<string, FileSpec>>;

/** Roots built on one backend for one test. */
export interface BuiltRoots {
  /** File systems in the tree's root order. */
  roots: FileSystem[];
  /** A file system for a root that was never created. */
  absent(name: string): FileSystem;
  /** Everything stored (files, folders) under every root, to compare before/after. */
  snapshot(): Promise<unknown>;
  /** True when the backend lets the test set modification times. */
  settableMtime: boolean;
}

/** A storage backend the discovery specification runs on. */
export interface Backend {
  name: string;
  build(tree: Tree): Promise<BuiltRoots>;
  /** Releases what the backend created (called once per test file). */
  cleanup?(): Promise<void>;
}

const dataOf = (s: FileSpec) => (typeof s === "string" ? s : s.data);
const mtimeOf = (s: FileSpec) => (typeof s === "string" ? undefined : s.mtimeMs);

/** memfs through the fs-memory harness; every test gets a fresh volume. */
export const memoryBackend: Backend = {
  name: "memfs",
  async build(tree) {
    const mem = createMemoryRoots(
      Object.fromEntries(
        Object.entries(tree).map(([name, files]) => [
          `mem://${name}`,
          Object.fromEntries(
            Object.entries(files).map(([k, s]) => [
              k,
              typeof s === "string" ? s : { data: s.data, mtimeMs: s.mtimeMs },
            ]),
          ),
        ]),
      ),
    );
    const volume: Volume = mem.volume;
    return {
      roots: mem.roots.map((r) => mem.fs(r.url)),
      absent: (name) => new MemoryFileSystem(`mem://${name}`, { volume }),
      snapshot: async () => {
        const json = volume.toJSON();
        const out: Record<string, unknown> = {};
        for (const path of Object.keys(json).sort()) {
          const st = volume.statSync(path);
          out[path] = st.isDirectory() ? "dir" : [st.size, st.mtimeMs];
        }
        return out;
      },
      settableMtime: true,
    };
  },
};

async function walk(dir: string, out: Record<string, unknown>): Promise<void> {
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) {
      out[p] = "dir";
      await walk(p, out);
    } else {
      const st = await stat(p);
      out[p] = [st.size, st.mtimeMs];
    }
  }
}

/** Local disk under a temp folder; each build gets its own sub-folder. */
export function localBackend(): Backend {
  let base: string | undefined;
  let n = 0;
  return {
    name: "local disk",
    async build(tree) {
      base ??= await mkdtemp(join(tmpdir(), "proximadb-discovery-"));
      const dir = join(base, `t${n++}`);
      await mkdir(dir, { recursive: true });
      const roots: FileSystem[] = [];
      for (const [name, files] of Object.entries(tree)) {
        const rootDir = join(dir, name);
        await mkdir(rootDir, { recursive: true });
        for (const [key, spec] of Object.entries(files)) {
          const p = join(rootDir, key);
          await mkdir(dirname(p), { recursive: true });
          await writeFile(p, dataOf(spec));
          const m = mtimeOf(spec);
          if (m !== undefined) await utimes(p, m / 1000, m / 1000);
        }
        roots.push(new LocalFileSystem(`file://${rootDir}`));
      }
      return {
        roots,
        absent: (name) => new LocalFileSystem(`file://${join(dir, name)}`),
        snapshot: async () => {
          const out: Record<string, unknown> = {};
          await walk(dir, out);
          return out;
        },
        settableMtime: true,
      };
    },
    async cleanup() {
      if (base) await rm(base, { recursive: true, force: true });
    },
  };
}
