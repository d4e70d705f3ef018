import * as nodeFs from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ComponentType, FileSystem, WriteOptions } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import type { ConfiguredRoot } from "../../src/index.js";
import { forwarding } from "../support/wrappers.js";

/** The subset of `fs/promises` the harness needs (node's and memfs's both have it). */
interface FsPromises {
  mkdir(p: string, o: { recursive: true }): Promise<unknown>;
  rm(p: string, o: { recursive: true; force: true }): Promise<void>;
  rename(a: string, b: string): Promise<void>;
  readdir(p: string): Promise<unknown[]>;
  stat(p: string): Promise<{ isDirectory(): boolean; size: number }>;
  writeFile(p: string, d: string): Promise<void>;
  readFile(p: string): Promise<unknown>;
}

/**
 * Disks for one test: folders that hold roots (`disk1/wal`), with what operators do to disks — lose one,
 * unmount one (an empty mount point), swap two, bring one back.
 */
export interface Disks {
  /** Opens the root at `path` (e.g. `disk1/wal`); nothing is created. */
  fs(path: string): FileSystem;
  /** Removes a folder and everything below it (a lost disk). */
  remove(path: string): Promise<void>;
  /** Empties a folder and keeps it (an unmounted mount point). */
  empty(path: string): Promise<void>;
  /** Renames a folder (a disk unmounted elsewhere, or remounted back). */
  rename(from: string, to: string): Promise<void>;
  /** Exchanges two folders' contents (disks remounted in another order). */
  swap(a: string, b: string): Promise<void>;
  /** Writes a file (creating folders). */
  write(path: string, data: string): Promise<void>;
  /** Every folder and file (with its bytes) under `path`, for before/after comparison. */
  snapshot(path: string): Promise<Record<string, string>>;
  /** True when `path` exists. */
  exists(path: string): Promise<boolean>;
}

/** A backend the deployment scenarios run on. */
export interface DiskBackend {
  name: string;
  create(): Promise<Disks>;
  cleanup(): Promise<void>;
}

function disksOn(fsp: FsPromises, base: string, open: (path: string) => FileSystem): Disks {
  const abs = (p: string) => join(base, p);
  const exists = async (p: string) =>
    fsp.stat(abs(p)).then(
      () => true,
      () => false,
    );
  const walk = async (dir: string, rel: string, out: Record<string, string>) => {
    for (const name of (await fsp.readdir(dir)).map(String).sort()) {
      const p = join(dir, name);
      const r = rel === "" ? name : `${rel}/${name}`;
      if ((await fsp.stat(p)).isDirectory()) {
        out[`${r}/`] = "dir";
        await walk(p, r, out);
      } else out[r] = String(await fsp.readFile(p));
    }
  };
  return {
    fs: open,
    remove: (p) => fsp.rm(abs(p), { recursive: true, force: true }),
    async empty(p) {
      await fsp.rm(abs(p), { recursive: true, force: true });
      await fsp.mkdir(abs(p), { recursive: true });
    },
    rename: (a, b) => fsp.rename(abs(a), abs(b)),
    async swap(a, b) {
      const tmp = `${a}.swap-tmp`;
      await fsp.rename(abs(a), abs(tmp));
      await fsp.rename(abs(b), abs(a));
      await fsp.rename(abs(tmp), abs(b));
    },
    async write(p, data) {
      await fsp.mkdir(dirname(abs(p)), { recursive: true });
      await fsp.writeFile(abs(p), data);
    },
    async snapshot(p) {
      const out: Record<string, string> = {};
      if (await exists(p)) await walk(abs(p), "", out);
      return out;
    },
    exists,
  };
}

export const memoryDisks: DiskBackend = {
  name: "memfs",
  async create() {
    const volume = new Volume();
    return disksOn(
      volume.promises as unknown as FsPromises,
      "/",
      (p) => new MemoryFileSystem(`mem://${p}`, { volume }),
    );
  },
  async cleanup() {},
};

export function localDisks(): DiskBackend {
  let base: string | undefined;
  let n = 0;
  return {
    name: "local disk",
    async create() {
      base ??= await nodeFs.mkdtemp(join(tmpdir(), "proximadb-deployment-"));
      const dir = join(base, `t${n++}`);
      await nodeFs.mkdir(dir, { recursive: true });
      return disksOn(
        nodeFs as unknown as FsPromises,
        dir,
        (p) => new LocalFileSystem(`file://${join(dir, p)}`),
      );
    },
    async cleanup() {
      if (base) await nodeFs.rm(base, { recursive: true, force: true });
    },
  };
}

/** Three disks with a WAL, VIPER and LSM root each, and a single-root metadata component on disk 3. */
export const LAYOUT: Readonly<Record<string, readonly string[]>> = {
  wal: ["disk1/wal", "disk2/wal", "disk3/wal"],
  viper: ["disk1/viper", "disk2/viper", "disk3/viper"],
  lsm: ["disk1/lsm", "disk2/lsm", "disk3/lsm"],
  metadata: ["disk3/meta"],
};

/** Every path of a layout. */
export const pathsOf = (layout: Readonly<Record<string, readonly string[]>>): string[] =>
  Object.values(layout).flat();

/** The configured roots of a layout on these disks, minus `without` (paths dropped from the config). */
export function configure(
  disks: Disks,
  layout: Readonly<Record<string, readonly string[]>> = LAYOUT,
  without: readonly string[] = [],
): ConfiguredRoot[] {
  return Object.entries(layout).flatMap(([component, paths]) =>
    paths
      .filter((p) => !without.includes(p))
      .map((p) => ({ component: component as ComponentType, fs: disks.fs(p) })),
  );
}

/** The canonical URL of `path` on these disks. */
export const urlOf = (disks: Disks, path: string): string => disks.fs(path).root.url;

/**
 * Wraps a file system: every `write` is recorded (key and options), and `failWrite(key)` returning true
 * makes that write throw as a crash would (nothing written).
 */
export function recording(
  inner: FileSystem,
  failWrite?: (key: string) => boolean,
): FileSystem & { writes: { key: string; options: WriteOptions | undefined }[] } {
  const wrapper = forwarding<{ writes: { key: string; options: WriteOptions | undefined }[] }>(inner);
  wrapper.writes = [];
  wrapper.write = async (key, data, options) => {
    if (failWrite?.(key)) throw new Error(`simulated crash before writing ${key}`);
    wrapper.writes.push({ key, options });
    return inner.write(key, data, options);
  };
  return wrapper;
}
