import { existsSync, realpathSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError, parseStorageUrl } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import type { BackendDriver } from "../driver.js";
import { type TreeFs, readTree } from "./tree.js";

/**
 * Local disk: one temporary folder per backend (made on first use, removed by `stop`); set `s1` is its
 * sub-folder, each root a folder in that. The folder is a real path, so root URLs compare equal to what
 * a node resolves (macOS links its temp folder).
 */
export function localDriver(): BackendDriver {
  let base: string | undefined;
  const baseDir = async () => {
    base ??= realpathSync(await fsp.mkdtemp(join(tmpdir(), "proximadb-backend-")));
    return base;
  };
  const setDir = async (set: string) => join(await baseDir(), set);
  return {
    kind: "local",
    settableMtime: true,
    endpoint: undefined,
    open: (root) => new LocalFileSystem(root),
    async createRoots(set, names) {
      const dir = await setDir(set);
      const urls: string[] = [];
      for (const name of names) {
        await fsp.mkdir(join(dir, name), { recursive: true });
        urls.push(parseStorageUrl(`file://${join(dir, name)}`).url);
      }
      return urls;
    },
    absentUrl(set, name) {
      if (base === undefined)
        throw new InvalidArgumentError("make a root set before asking for an absent root");
      return parseStorageUrl(`file://${join(base, set, name)}`).url;
    },
    async touch(url, key, mtimeMs) {
      await fsp.utimes(join(this.localPath?.(url) as string, key), mtimeMs / 1000, mtimeMs / 1000);
    },
    async snapshot(set) {
      const dir = await setDir(set);
      return existsSync(dir) ? readTree(fsp as unknown as TreeFs, dir) : {};
    },
    async removeSet(set) {
      await fsp.rm(await setDir(set), { recursive: true, force: true });
    },
    localPath(url) {
      const root = parseStorageUrl(url);
      if (root.scheme !== "file" || root.path === undefined)
        throw new InvalidArgumentError(`${root.url} is not a local-disk root`);
      return root.path;
    },
    async stop() {
      if (base !== undefined) await fsp.rm(base, { recursive: true, force: true });
      base = undefined;
    },
  };
}
