import * as nodeFs from "node:fs";
import { symlink } from "node:fs/promises";
import { join } from "node:path";
import { type FileEntry, type ListPage, listAll } from "@proximadb/core";
import { type FsModule, LocalFileSystem, type LocalListOptions } from "@proximadb/fs-local";
import { expectFsError } from "@proximadb/testing/conformance";
import { describe, expect, it } from "vitest";
import { KEYS_BEFORE_COLL_002, writeTree } from "./listing-tree.js";
import { tempDirPerTest } from "./temp-dir.js";

const dir = tempDirPerTest("pdb-fs-local-names-");

type Callback = (err: unknown, value?: unknown) => void;
const errno = (code: string) => Object.assign(new Error(code), { code });

/** node:fs whose callback `readdir` and `stat` are counted; `failReaddir` makes a folder read fail. */
function countingFs(failReaddir?: (path: string) => NodeJS.ErrnoException | undefined) {
  const seen = { stats: 0, readdirs: 0 };
  const module: FsModule = {
    promises: nodeFs.promises,
    readdir: (path: string, options: unknown, cb: Callback) => {
      seen.readdirs++;
      const injected = failReaddir?.(path);
      nodeFs.readdir(path, options as { withFileTypes: true }, (err, entries) =>
        injected ? cb(injected) : cb(err, entries),
      );
    },
    stat: (path: string, cb: Callback) => {
      seen.stats++;
      nodeFs.stat(path, cb);
    },
  };
  return { module, seen };
}

/** `folders` folders of `files` files, each with a sub-folder holding one more. */
const tree = async (folders: number, files: number) => {
  await writeTree(dir(), folders, files);
};

const names: LocalListOptions = { sizes: false };
const keysOf = (files: readonly FileEntry[]) => files.map((f) => f.key);

async function pagesOf(fs: LocalFileSystem, prefix: string, options: LocalListOptions): Promise<ListPage[]> {
  const pages: ListPage[] = [];
  for await (const page of fs.list(prefix, options)) pages.push(page);
  return pages;
}

describe("names-only listing (sizes: false)", () => {
  it("lists the same keys and prefixes, in the same pages, as the listing with sizes", async () => {
    await tree(30, 4);
    await symlink(join(dir(), "coll-001"), join(dir(), "link-to-coll"));
    const fs = new LocalFileSystem(dir());
    for (const [prefix, delimiter] of [
      ["", false],
      ["", true],
      ["coll-00", false],
      ["coll-002/", true],
    ] as const) {
      const full = await pagesOf(fs, prefix, { pageSize: 7, delimiter });
      const quick = await pagesOf(fs, prefix, { pageSize: 7, delimiter, ...names });
      expect(quick.map((p) => keysOf(p.files))).toEqual(full.map((p) => keysOf(p.files)));
      expect(quick.map((p) => p.prefixes)).toEqual(full.map((p) => p.prefixes));
    }
  });

  it("stats no file: one readdir per folder, and sizes and times are NaN (not read)", async () => {
    await tree(20, 5);
    const { module, seen } = countingFs();
    const listed = await listAll(new LocalFileSystem(dir(), { fs: module }), "", names);
    expect(listed.files).toHaveLength(20 * 6);
    expect(seen.stats).toBe(0);
    expect(seen.readdirs).toBe(1 + 20 * 2);
    expect(listed.files.every((f) => Number.isNaN(f.size) && Number.isNaN(f.mtimeMs))).toBe(true);
  });

  it("also works on a module with the promise API only", async () => {
    await tree(5, 2);
    const promiseOnly = new LocalFileSystem(dir(), { fs: { promises: nodeFs.promises } });
    const listed = await listAll(promiseOnly, "", names);
    expect(keysOf(listed.files)).toEqual(keysOf((await listAll(new LocalFileSystem(dir()), "")).files));
  });

  it("fails with a typed error on a folder it cannot read, after the pages before it", async () => {
    await tree(3, 2);
    const { module } = countingFs((path) => (path.endsWith("/coll-002") ? errno("EACCES") : undefined));
    const fs = new LocalFileSystem(dir(), { fs: module });
    const seen: string[] = [];
    const run = async () => {
      for await (const page of fs.list("", { pageSize: 1, ...names })) seen.push(...keysOf(page.files));
    };
    const err = await expectFsError(run(), "PermissionDenied");
    expect(err.key).toBe("coll-002/");
    expect(seen).toEqual(KEYS_BEFORE_COLL_002);
  });

  it("lists nothing under a prefix that does not exist, and rejects a bad page size", async () => {
    await tree(1, 1);
    const fs = new LocalFileSystem(dir());
    expect((await listAll(fs, "nope/", names)).files).toEqual([]);
    await expect(listAll(fs, "", { pageSize: 0, ...names })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});
