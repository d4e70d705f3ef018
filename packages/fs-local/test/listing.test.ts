import * as nodeFs from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type FileEntry, listAll } from "@proximadb/core";
import { type FsModule, LocalFileSystem } from "@proximadb/fs-local";
import { expectFsError } from "@proximadb/testing/conformance";
import { describe, expect, it } from "vitest";
import { KEYS_BEFORE_COLL_002, writeTree } from "./listing-tree.js";
import { tempDirPerTest } from "./temp-dir.js";

const dir = tempDirPerTest("pdb-fs-local-list-");

type Callback = (err: unknown, value?: unknown) => void;

/**
 * node:fs whose callback `readdir` and `stat` are observed: counts calls and the most in flight at once,
 * and lets a test answer a stat itself (`statOverride` returns an error to deliver, or undefined).
 */
function observedFs(
  statOverride?: (path: string) => NodeJS.ErrnoException | undefined,
  readdirOverride?: (path: string) => NodeJS.ErrnoException | undefined,
) {
  const seen = { stats: 0, statsInFlight: 0, maxStats: 0, readdirs: 0, readdirsInFlight: 0, maxReaddirs: 0 };
  const module: FsModule = {
    promises: nodeFs.promises,
    readdir: (path: string, options: unknown, cb: Callback) => {
      seen.readdirs++;
      seen.maxReaddirs = Math.max(seen.maxReaddirs, ++seen.readdirsInFlight);
      const injected = readdirOverride?.(path);
      nodeFs.readdir(path, options as { withFileTypes: true }, (err, entries) => {
        seen.readdirsInFlight--;
        if (injected) cb(injected);
        else cb(err, entries);
      });
    },
    stat: (path: string, cb: Callback) => {
      seen.stats++;
      seen.maxStats = Math.max(seen.maxStats, ++seen.statsInFlight);
      const injected = statOverride?.(path);
      nodeFs.stat(path, (err, st) => {
        seen.statsInFlight--;
        if (injected) cb(injected);
        else cb(err, st);
      });
    },
  };
  return { module, seen };
}

const errno = (code: string) => Object.assign(new Error(code), { code });

/** A tree of `folders` folders, each with `files` files and a sub-folder holding one more. */
const tree = (folders: number, files: number) => writeTree(dir(), folders, files);

const keysOf = (files: readonly FileEntry[]) => files.map((f) => f.key);

describe("listing through the callback API", () => {
  it("lists a nested tree in ascending key order, page by page, with each file's size", async () => {
    const keys = await tree(40, 5);
    const fs = new LocalFileSystem(dir(), { fs: observedFs().module });
    const pages: FileEntry[][] = [];
    for await (const page of fs.list("", { pageSize: 7 })) pages.push([...page.files]);
    expect(pages.slice(0, -1).every((p) => p.length === 7)).toBe(true);
    expect(keysOf(pages.flat())).toEqual(keys);
    const sizes = Object.fromEntries(pages.flat().map((f) => [f.key, f.size]));
    expect(sizes["coll-003/seg-4.sst"]).toBe(5);
    expect(sizes["coll-039/level-0/deep.sst"]).toBe(4);
  });

  it("orders names beyond U+FFFF by UTF-8 bytes, as object stores do", async () => {
    // "\u{1F600}" (F0 9F 98 80) sorts after "\uFFFD" (EF BF BD) in UTF-8, before it in UTF-16 code units.
    for (const name of ["\uFFFD", "\u{1F600}", "a"]) {
      await mkdir(join(dir(), name), { recursive: true });
      await writeFile(join(dir(), name, "f"), "x");
    }
    const fs = new LocalFileSystem(dir(), { fs: observedFs().module });
    expect(keysOf((await listAll(fs, "")).files)).toEqual(["a/f", "\uFFFD/f", "\u{1F600}/f"]);
  });

  it("lists exactly what a promise-API-only module lists (the fallback path)", async () => {
    await tree(12, 3);
    await symlink(join(dir(), "coll-001"), join(dir(), "link-to-coll"));
    await symlink(join(dir(), "nowhere"), join(dir(), "dangling"));
    const callback = await listAll(new LocalFileSystem(dir(), { fs: observedFs().module }), "");
    const promiseOnly = await listAll(new LocalFileSystem(dir(), { fs: { promises: nodeFs.promises } }), "");
    expect(callback).toEqual(promiseOnly);
    expect(keysOf(callback.files)).toContain("link-to-coll/level-0/deep.sst");
    expect(keysOf(callback.files).some((k) => k.startsWith("dangling"))).toBe(false);
  });

  it("keeps at most 64 stats in flight, and more than one", async () => {
    await tree(4, 250);
    const { module, seen } = observedFs();
    const listed = await listAll(new LocalFileSystem(dir(), { fs: module }), "");
    expect(listed.files).toHaveLength(1004);
    expect(seen.stats).toBe(1004);
    expect(seen.maxStats).toBeGreaterThan(1);
    expect(seen.maxStats).toBeLessThanOrEqual(64);
  });

  it("reads sibling folders ahead of the walk, at most 8 ahead plus the one walked", async () => {
    await tree(60, 1);
    const { module, seen } = observedFs();
    await listAll(new LocalFileSystem(dir(), { fs: module }), "");
    expect(seen.readdirs).toBe(1 + 60 * 2);
    expect(seen.maxReaddirs).toBeGreaterThan(1);
    expect(seen.maxReaddirs).toBeLessThanOrEqual(9);
  });

  it("stops statting once the caller stops reading pages", async () => {
    await tree(1, 2000);
    const { module, seen } = observedFs();
    for await (const page of new LocalFileSystem(dir(), { fs: module }).list("", { pageSize: 100 })) {
      expect(page.files).toHaveLength(100);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // let stats already in flight land
    expect(seen.stats).toBeLessThanOrEqual(100 + 64);
  });

  it("leaves out a file deleted between reading its folder and statting it", async () => {
    await tree(3, 2);
    const { module } = observedFs((path) =>
      path.endsWith("coll-001/seg-0.sst") ? errno("ENOENT") : undefined,
    );
    const keys = keysOf((await listAll(new LocalFileSystem(dir(), { fs: module }), "")).files);
    expect(keys).not.toContain("coll-001/seg-0.sst");
    expect(keys).toContain("coll-001/seg-1.sst");
    expect(keys).toHaveLength(3 * 3 - 1);
  });

  it("fails with a typed error naming the key when a stat fails for another reason", async () => {
    await tree(3, 2);
    const { module } = observedFs((path) =>
      path.endsWith("coll-002/seg-1.sst") ? errno("EACCES") : undefined,
    );
    const err = await expectFsError(
      listAll(new LocalFileSystem(dir(), { fs: module }), ""),
      "PermissionDenied",
    );
    expect(err.key).toBe("coll-002/seg-1.sst");
    expect(err.status).toBe("EACCES");
  });

  it("fails with a typed error on a folder read ahead of the walk, after the pages before it", async () => {
    await tree(3, 2);
    const { module } = observedFs(undefined, (path) =>
      path.endsWith("/coll-002") ? errno("EACCES") : undefined,
    );
    const fs = new LocalFileSystem(dir(), { fs: module });
    const seen: string[] = [];
    const run = async () => {
      for await (const page of fs.list("", { pageSize: 1 })) seen.push(...keysOf(page.files));
    };
    const err = await expectFsError(run(), "PermissionDenied");
    expect(err.key).toBe("coll-002/");
    expect(seen).toEqual(KEYS_BEFORE_COLL_002);
  });
});
