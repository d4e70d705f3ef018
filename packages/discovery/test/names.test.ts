// The names level on local disk: what it reads (counted at the fs module), and what it leaves out.
import * as nodeFs from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { AssignmentService } from "@proximadb/core";
import { type FsModule, LocalFileSystem } from "@proximadb/fs-local";
import { createMemoryRoots } from "@proximadb/fs-memory";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectionSizes, discover, discoverAll, recordInto } from "../src/index.js";

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), "proximadb-discovery-names-"));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

type Callback = (err: unknown, value?: unknown) => void;

/** node:fs whose callback `stat` (the one listings use) is counted; `failStat` makes a stat fail. */
function countingFs(failStat?: (path: string) => boolean) {
  const seen = { stats: [] as string[] };
  const module: FsModule = {
    promises: nodeFs.promises,
    readdir: nodeFs.readdir,
    stat: (path: string, cb: Callback) => {
      seen.stats.push(path);
      if (failStat?.(path)) queueMicrotask(() => cb(Object.assign(new Error("EACCES"), { code: "EACCES" })));
      else nodeFs.stat(path, cb);
    },
  };
  return { module, seen };
}

let run = 0;
/** Writes `tree` (root name → key → content) under a fresh folder; returns each root's folder. */
async function build(tree: Record<string, Record<string, string>>): Promise<string[]> {
  const dir = join(base, `t${run++}`);
  const out: string[] = [];
  for (const [name, files] of Object.entries(tree)) {
    const root = join(dir, name);
    await mkdir(root, { recursive: true });
    for (const [key, data] of Object.entries(files)) {
      await mkdir(dirname(join(root, key)), { recursive: true });
      await writeFile(join(root, key), data);
    }
    out.push(root);
  }
  return out;
}

function manyCollections(n: number, files: number): Record<string, string> {
  const tree: Record<string, string> = {};
  for (let c = 0; c < n; c++)
    for (let f = 0; f < files; f++) tree[`coll-${String(c).padStart(3, "0")}/level-0/${f}.sst`] = "x";
  return tree;
}

describe("discovery at the names level on local disk", () => {
  it("stats only the files of the collections found in two roots", async () => {
    const dirs = await build({
      r0: { ...manyCollections(30, 3), "dup/1.sst": "a", "dup/level-0/2.sst": "bb" },
      r1: { "dup/1.sst": "a", "dup/2.sst": "b", "dup/3.sst": "ccc", "other/1.sst": "x" },
    });
    const names = countingFs();
    const roots = dirs.map((d) => new LocalFileSystem(d, { fs: names.module }));
    const report = await discover({ component: "lsm", roots, detail: "names" });
    expect(names.seen.stats.map((p) => p.slice(p.lastIndexOf("/r") + 1)).sort()).toEqual([
      "r0/dup/1.sst",
      "r0/dup/level-0/2.sst",
      "r1/dup/1.sst",
      "r1/dup/2.sst",
      "r1/dup/3.sst",
    ]);
    expect(Object.keys(report.collections)).toHaveLength(32);
    expect(report.conflicts[0]?.copies.map((c) => c.bytes)).toEqual([3, 5]);

    const sizes = countingFs();
    await discover({
      component: "lsm",
      roots: dirs.map((d) => new LocalFileSystem(d, { fs: sizes.module })),
    });
    expect(sizes.seen.stats).toHaveLength(30 * 3 + 2 + 3 + 1);
  });

  it("leaves out the sizes and times it did not read, for collections and roots", async () => {
    const dirs = await build({ r0: { "c1/1.avro": "x", "dup/1.avro": "y" }, r1: { "dup/1.avro": "z" } });
    const roots = dirs.map((d) => new LocalFileSystem(d));
    const report = await discover({ component: "wal", roots, detail: "names" });
    expect(report.collections.c1).toEqual({ collection: "c1", url: roots[0]?.root.url, index: 0, files: 1 });
    // r1 holds only the conflicting copy, whose sizes were read: its total is known.
    expect(report.roots.map((r) => r.bytes)).toEqual([undefined, 1]);
    expect(report.collections.dup).toMatchObject({ bytes: 1, files: 1 });
    const sized = await discover({ component: "wal", roots });
    expect(sized.roots.map((r) => r.bytes)).toEqual([2, 1]);
  });

  it("reports a root whose conflicting copy cannot be read as unreachable, as the sizes level does", async () => {
    const dirs = await build({
      r0: { "dup/1.avro": "a", "c1/1.avro": "x" },
      r1: { "dup/1.avro": "b", "c2/1.avro": "y" },
    });
    const { module } = countingFs((path) => path.includes("/r1/dup/"));
    const roots = [
      new LocalFileSystem(dirs[0] as string),
      new LocalFileSystem(dirs[1] as string, { fs: module }),
    ];
    for (const detail of ["names", "sizes"] as const) {
      const report = await discover({ component: "wal", roots, detail });
      expect(report.roots.map((r) => r.status)).toEqual(["online", "unreachable"]);
      expect(report.roots[1]).toMatchObject({ collections: 0, files: 0 });
      expect(report.roots[1]?.error).toMatch(/^PermissionDenied/);
      expect(Object.keys(report.collections)).toEqual(["c1", "dup"]);
      expect(report.conflicts).toEqual([]);
    }
  });

  it("applies discoverAll's detail to every component that does not set its own", async () => {
    const dirs = await build({ wal: { "c1/1.avro": "x" }, lsm: { "c1/1.sst": "x" } });
    const [wal, lsm] = dirs.map((d) => new LocalFileSystem(d));
    const all = await discoverAll(
      [
        { component: "wal", roots: [wal as LocalFileSystem] },
        { component: "lsm", roots: [lsm as LocalFileSystem], detail: "sizes" },
      ],
      { detail: "names" },
    );
    expect([all.wal.detail, all.lsm.detail]).toEqual(["names", "sizes"]);
    expect(all.wal.collections.c1?.bytes).toBeUndefined();
    expect(all.lsm.collections.c1?.bytes).toBe(1);
  });
});

describe("recordInto with a names-level report", () => {
  it("reports no usage for roots without sizes, so LeastUsed compares collection counts", async () => {
    const h = createMemoryRoots({
      "mem://a": { "c1/1.avro": "a much bigger file", "c2/1.avro": "x" },
      "mem://b": { "c3/1.avro": "x" },
    });
    const roots = h.roots.map((r) => h.fs(r.url));
    const config = { components: { wal: { roots: ["mem://a", "mem://b"], strategy: "LeastUsed" } } } as const;
    const names = new AssignmentService(config);
    await recordInto(names, await discover({ component: "wal", roots, detail: "names" }));
    expect(names.stats()[0]?.roots.map((r) => r.bytes)).toEqual([undefined, undefined]);
    expect((await names.assign("new-1", "wal")).url).toBe("mem://b");
    const sizes = new AssignmentService(config);
    await recordInto(sizes, await discover({ component: "wal", roots }));
    expect(sizes.stats()[0]?.roots.map((r) => r.bytes)).toEqual([19, 1]);
  });

  it("records undated copies with the service's clock and dated (conflicting) ones with their oldest file", async () => {
    const h = createMemoryRoots({
      "mem://a": { "c1/1.avro": { data: "x", mtimeMs: 5_000 }, "dup/1.avro": { data: "x", mtimeMs: 1_000 } },
      "mem://b": { "dup/1.avro": { data: "x", mtimeMs: 2_000 } },
    });
    const roots = h.roots.map((r) => h.fs(r.url));
    const service = new AssignmentService({
      components: { wal: { roots: ["mem://a", "mem://b"] } },
      now: () => 42,
    });
    const report = await discover({ component: "wal", roots, detail: "names" });
    expect(await recordInto(service, report)).toMatchObject({ recorded: 2, offlineRoots: [] });
    expect(service.get("c1", "wal")).toMatchObject({ url: "mem://a", assignedAt: 42 });
    expect(service.get("dup", "wal")).toMatchObject({ url: "mem://b", assignedAt: 2_000 });
  });
});

describe("collectionSizes", () => {
  it("reads one collection's sizes and times on demand, as the sizes level reports them", async () => {
    const dirs = await build({ r0: { "c1/1.avro": "abc", "c1/level-0/2.avro": "de", "c1/notes.txt": "zz" } });
    const fs = new LocalFileSystem(dirs[0] as string);
    const full = await discover({ component: "wal", roots: [fs] });
    const c1 = full.collections.c1;
    expect(await collectionSizes(fs, "wal", "c1")).toEqual({
      files: 2,
      bytes: 5,
      oldestMs: c1?.oldestMs,
      newestMs: c1?.newestMs,
    });
  });

  it("resolves to undefined for a collection without data files in the root", async () => {
    const dirs = await build({ r0: { "c1/notes.txt": "zz" } });
    const fs = new LocalFileSystem(dirs[0] as string);
    expect(await collectionSizes(fs, "wal", "c1")).toBeUndefined();
    expect(await collectionSizes(fs, "wal", "never-there")).toBeUndefined();
  });

  it("rejects an invalid collection id or component with a typed error, reading nothing", async () => {
    const { module, seen } = countingFs();
    const dirs = await build({ r0: { "c1/1.avro": "x" } });
    const fs = new LocalFileSystem(dirs[0] as string, { fs: module });
    await expect(collectionSizes(fs, "wal", "../c1")).rejects.toMatchObject({
      code: "INVALID_COLLECTION_ID",
    });
    await expect(collectionSizes(fs, "wal", "_staging")).rejects.toMatchObject({
      code: "INVALID_COLLECTION_ID",
    });
    await expect(collectionSizes(fs, "nope" as "wal", "c1")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    expect(seen.stats).toEqual([]);
  });
});
