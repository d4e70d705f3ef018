import { AssignmentService, type ComponentType, type FileSystem, RootOfflineError } from "@proximadb/core";
import { describe, expect, it } from "vitest";
import {
  type DiscoveryDetail,
  type DiscoveryReport,
  discover,
  discoverAll,
  ensureRootMarker,
  markerRootUuid,
  recordInto,
  ROOT_MARKER_FILE,
} from "../../src/index.js";
import { createFaultProxy } from "@proximadb/testing/fault-proxy";
import type { FileSpec as BackendFileSpec, StorageBackend } from "@proximadb/testing-backends";
import { instrument } from "./wrappers.js";

/** A file in a test tree: its content, and optionally its modification time. */
export type FileSpec = BackendFileSpec;
/** Root name → key → file. Root names are short lowercase words (`r0`, `wal-a`). */
export type Tree = Record<string, Record<string, FileSpec>>;

/** Roots built on one backend for one test, filled with `tree` (removed when the test ends). */
async function build(backend: StorageBackend, tree: Tree) {
  const set = await backend.roots("discovery", Object.keys(tree));
  await Promise.all(set.urls.map((url, i) => set.write(url, Object.values(tree)[i] ?? {})));
  return {
    /** File systems in the tree's root order. */
    roots: set.fileSystems(),
    /** A file system for a root that was never created. */
    absent: (name: string) => set.openFileSystem(set.absentUrl(name)),
    /** Everything stored under every root, to compare before/after. */
    snapshot: () => set.snapshot(),
    /** True when the backend lets the test set modification times. */
    settableMtime: backend.settableMtime,
  };
}

const T0 = Date.UTC(2024, 0, 1);
const at = (minutes: number) => T0 + minutes * 60_000;

/** Three roots on `backend` holding one collection each: c1, c2 and c3. */
async function threeRoots(backend: StorageBackend): Promise<[FileSystem, FileSystem, FileSystem]> {
  const b = await build(backend, {
    r0: { "c1/1.avro": "x" },
    r1: { "c2/1.avro": "x" },
    r2: { "c3/1.avro": "x" },
  });
  return b.roots as [FileSystem, FileSystem, FileSystem];
}

/**
 * Two roots that both hold `dup` and `tie`: `dup`'s second, newest file (`newest`, modified at minute 9) is
 * only in r1, so r1's copy wins; `tie`'s copies are alike, so the lower index wins. `r0Extra` adds files to r0.
 */
const dupAndTie = (newest: string, r0Extra: Tree[string] = {}): Tree => {
  const oldDup = { data: "old", mtimeMs: at(1) };
  const tie = { data: "t", mtimeMs: at(5) };
  return {
    r0: { "dup/000001.avro": oldDup, "tie/1.avro": tie, ...r0Extra },
    r1: { "dup/000001.avro": oldDup, "dup/000002.avro": { data: newest, mtimeMs: at(9) }, "tie/1.avro": tie },
  };
};

/** The live copy must follow the rule: newest data, then the lower root index. */
function expectRuleFollowed(report: DiscoveryReport<DiscoveryDetail>): void {
  for (const c of report.conflicts) {
    const best = [...c.copies].sort((a, b) => b.newestMs - a.newestMs || a.index - b.index)[0];
    expect(c.chosen).toBe(best?.url);
    expect(report.collections[c.collection]?.url).toBe(c.chosen);
  }
}

/** What both levels must agree on: everything but sizes, times and request counts. */
function recognised(report: DiscoveryReport<DiscoveryDetail>) {
  return {
    roots: report.roots.map(({ bytes: _bytes, requests: _requests, costs: _costs, ...rest }) => rest),
    collections: Object.fromEntries(
      Object.entries(report.collections).map(([id, c]) => [
        id,
        { url: c.url, index: c.index, files: c.files },
      ]),
    ),
    conflicts: report.conflicts,
    ignored: report.ignored,
    ignoredCounts: report.ignoredCounts,
    ignoredTruncated: report.ignoredTruncated,
  };
}

/**
 * The discovery specification, run on every backend. `scale` shrinks the big cases on slow
 * backends (emulators) while keeping them above 1,000 collections.
 */
export function describeDiscovery(backend: StorageBackend, options: { bigCollections?: number } = {}): void {
  const big = options.bigCollections ?? 1200;
  it("recognises the original design's WAL and storage collections and ignores a folder holding only readme.txt", async () => {
    const b = await build(backend, {
      wal: {
        "coll-wal-1/data.avro": "wal",
        "coll-wal-1/checkpoint.bincode": "ckpt",
        "docs/readme.txt": "hello",
      },
      storage: {
        "storage-1/vectors.parquet": "vectors",
        "storage-1/index.sst": "sst",
        "docs/readme.txt": "hello",
      },
    });
    const [walRoot, storageRoot] = b.roots as [FileSystem, FileSystem];
    const wal = await discover({ component: "wal", roots: [walRoot] });
    expect(Object.keys(wal.collections)).toEqual(["coll-wal-1"]);
    expect(wal.collections["coll-wal-1"]).toMatchObject({
      url: walRoot.root.url,
      index: 0,
      files: 2,
      bytes: 7,
    });
    expect(wal.ignored).toContainEqual({
      url: walRoot.root.url,
      key: "docs/readme.txt",
      reason: "not-data",
    });
    expect(wal.roots[0]).toMatchObject({
      status: "online",
      collections: 1,
      files: 2,
      bytes: 7,
      plan: "flat",
    });

    const viper = await discover({ component: "viper", roots: [storageRoot] });
    const lsm = await discover({ component: "lsm", roots: [storageRoot] });
    expect(viper.collections["storage-1"]).toMatchObject({ files: 1, bytes: 7 });
    expect(lsm.collections["storage-1"]).toMatchObject({ files: 1, bytes: 3 });
    expect(viper.ignored).toContainEqual({
      url: storageRoot.root.url,
      key: "storage-1/index.sst",
      reason: "not-data",
    });
    expect(viper.collections.docs).toBeUndefined();
  });

  it("discovers three components concurrently with discoverAll", async () => {
    const b = await build(backend, {
      "wal-a": { "c1/000001.avro": "x" },
      "wal-b": { "c2/000001.bincode": "x" },
      "viper-a": { "c1/vectors/part-0.parquet": "x" },
      "viper-b": { "c3/part.vpr": "x" },
      "lsm-a": { "c1/level-0/000001.sst": "x" },
      "lsm-b": { "c2/level-1/000002.lsm": "x" },
    });
    const [wa, wb, va, vb, la, lb] = b.roots;
    const events: string[] = [];
    const all = await discoverAll(
      [
        { component: "wal", roots: [wa, wb] as FileSystem[] },
        { component: "viper", roots: [va, vb] as FileSystem[] },
        { component: "lsm", roots: [la, lb] as FileSystem[] },
      ],
      {
        concurrency: 3,
        onEvent: (e) => e.type === "root-finished" && events.push(`${e.component}:${e.index}`),
      },
    );
    expect(Object.keys(all).sort()).toEqual(["lsm", "viper", "wal"]);
    expect(Object.keys(all.wal.collections).sort()).toEqual(["c1", "c2"]);
    expect(Object.keys(all.viper.collections).sort()).toEqual(["c1", "c3"]);
    expect(Object.keys(all.lsm.collections).sort()).toEqual(["c1", "c2"]);
    expect(all.lsm.collections.c2?.url).toBe(lb?.root.url);
    expect(events.sort()).toEqual(["lsm:0", "lsm:1", "viper:0", "viper:1", "wal:0", "wal:1"]);
  });

  it("counts data found only in sub-folders and accepts short collection names such as c1", async () => {
    const b = await build(backend, {
      r0: {
        "c1/level-0/000001.sst": "aaaa",
        "c1/level-1/deep/000002.sst": "bb",
        "a/vectors/part-0.sst": "c",
        "x9/notes.md": "not data",
      },
    });
    const report = await discover({ component: "lsm", roots: b.roots });
    expect(Object.keys(report.collections).sort()).toEqual(["a", "c1"]);
    expect(report.collections.c1).toMatchObject({ files: 2, bytes: 6 });
    expect(report.ignored).toContainEqual({
      url: b.roots[0]?.root.url,
      key: "x9/notes.md",
      reason: "not-data",
    });
  });

  it("reports a collection found in two roots and keeps the copy with the newest data, then the lower index", async () => {
    const b = await build(backend, dupAndTie("new"));
    const report = await discover({ component: "wal", roots: b.roots });
    expect(report.conflicts.map((c) => c.collection)).toEqual(["dup", "tie"]);
    const dup = report.conflicts[0];
    expect(dup?.copies.map((c) => [c.index, c.files])).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expectRuleFollowed(report);
    if (b.settableMtime) {
      expect(dup?.chosen).toBe(b.roots[1]?.root.url);
      expect(report.conflicts[1]?.chosen).toBe(b.roots[0]?.root.url);
    }
    // Nothing is deleted: both copies are still there.
    for (const fs of b.roots) expect(await fs.exists("dup/000001.avro")).toBe(true);
  });

  it("at the names level keeps the copy with the newest data, then the lower index, and reports every copy's sizes", async () => {
    const b = await build(backend, dupAndTie("newer", { "solo/1.avro": { data: "s", mtimeMs: at(2) } }));
    const names = await discover({ component: "wal", roots: b.roots, detail: "names" });
    const sizes = await discover({ component: "wal", roots: b.roots });
    expect(names.detail).toBe("names");
    expect(names.conflicts.map((c) => c.collection)).toEqual(["dup", "tie"]);
    expect(names.conflicts).toEqual(sizes.conflicts);
    expect(names.conflicts[0]?.copies.map((c) => [c.index, c.files, c.bytes])).toEqual([
      [0, 1, 3],
      [1, 2, 8],
    ]);
    expectRuleFollowed(names);
    if (b.settableMtime) {
      expect(names.conflicts[0]?.chosen).toBe(b.roots[1]?.root.url);
      expect(names.conflicts[1]?.chosen).toBe(b.roots[0]?.root.url);
    }
  });

  it("at the names level reports the same collections, conflicts, root statuses and ignored entries as the sizes level", async () => {
    const failingFiles: Tree[string] = {};
    for (let i = 0; i < 6; i++) failingFiles[`f${i}/1.avro`] = "x";
    const b = await build(backend, {
      r0: {
        "c1/000001.avro": "one",
        "c1/level-0/000002.avro": "two",
        "c1/_staging/flush-1/000003.avro": "half",
        "c1/.000004.avro.tmp-1": "temp",
        "dup/1.avro": { data: "a", mtimeMs: at(1) },
        "docs/readme.txt": "hello",
        "_trash/c9/1.avro": "reserved",
        "bad name/1.avro": "invalid",
        "stray.avro": "top",
      },
      r1: {
        "dup/1.avro": { data: "a", mtimeMs: at(1) },
        "dup/2.avro": { data: "bb", mtimeMs: at(3) },
        "c2/1.bincode": "x",
      },
      r2: { "c3/1.avro": "x" },
      r3: failingFiles,
    });
    const [r0, r1, r2, r3] = b.roots as [FileSystem, FileSystem, FileSystem, FileSystem];
    const absent = b.absent("gone");
    await ensureRootMarker(r0, "wal", { siblings: [absent.root.url] });
    await ensureRootMarker(r2, "lsm");
    const roots = [r0, r1, r2, instrument(r3, { failOnPage: 2 }), absent];
    for (const plan of ["flat", "delimiter"] as const) {
      const sizes = await discover({ component: "wal", roots, plan, pageSize: 2 });
      const names = await discover({ component: "wal", roots, plan, pageSize: 2, detail: "names" });
      expect(sizes.roots.map((r) => r.status)).toEqual([
        "online",
        "online",
        "foreign",
        "unreachable",
        "missing",
      ]);
      expect(Object.keys(sizes.collections)).toEqual(["c1", "c2", "dup"]);
      expect(recognised(names)).toEqual(recognised(sizes));
      // Sizes a names-level report carries (object-store listings, conflicting copies) are the real ones.
      for (const [id, c] of Object.entries(names.collections)) {
        const full = sizes.collections[id];
        if (c.bytes !== undefined)
          expect([c.bytes, c.oldestMs, c.newestMs]).toEqual([full?.bytes, full?.oldestMs, full?.newestMs]);
      }
      for (const [i, r] of names.roots.entries())
        if (r.bytes !== undefined) expect(r.bytes).toBe(sizes.roots[i]?.bytes);
    }
  });

  it("reports a root that does not exist as missing and still discovers the others", async () => {
    const b = await build(backend, { r0: { "c1/1.avro": "x" } });
    const absent = b.absent("never-created");
    const report = await discover({ component: "wal", roots: [b.roots[0] as FileSystem, absent] });
    expect(report.roots.map((r) => r.status)).toEqual(["online", "missing"]);
    expect(report.roots[1]).toMatchObject({ plan: "none", requests: 0, collections: 0 });
    expect(Object.keys(report.collections)).toEqual(["c1"]);
    expect(await absent.probe()).toEqual({ exists: false });
  });

  it("reports a root that fails mid-listing as unreachable, keeps its collections out and still discovers the others", async () => {
    const files: Tree[string] = {};
    for (let i = 0; i < 30; i++) files[`f${i}/1.avro`] = "x";
    const b = await build(backend, { r0: files, r1: { "ok/1.avro": "x" } });
    const failing = instrument(b.roots[0] as FileSystem, { failOnPage: 2 });
    const report = await discover({
      component: "wal",
      roots: [failing, b.roots[1] as FileSystem],
      pageSize: 10,
    });
    expect(report.roots[0]).toMatchObject({ status: "unreachable", collections: 0 });
    expect(report.roots[0]?.error).toMatch(/^Transient/);
    expect(report.roots[1]?.status).toBe("online");
    expect(Object.keys(report.collections)).toEqual(["ok"]);
    const service = new AssignmentService({
      components: { wal: { roots: b.roots.map((r) => r.root.url) } },
    });
    const recorded = await recordInto(service, report);
    expect(recorded.offlineRoots).toEqual([b.roots[0]?.root.url]);
    await expect(service.assign("f1", "wal")).rejects.toBeInstanceOf(RootOfflineError);
  });

  it("reports a root whose marker UUID changed as foreign, and one whose marker vanished as missing", async () => {
    const [r0, r1, r2] = await threeRoots(backend);
    const m0 = await ensureRootMarker(r0, "wal");
    const m1 = await ensureRootMarker(r1, "wal");
    // r1 is re-created: a new identity at the same URL. r2 never got its marker back.
    await r1.delete(ROOT_MARKER_FILE);
    const m1b = await ensureRootMarker(r1, "wal");
    expect(markerRootUuid(m1b)).not.toBe(markerRootUuid(m1));
    const report = await discover({
      component: "wal",
      roots: [r0, r1, r2],
      expectedMarkers: {
        [r0.root.url]: markerRootUuid(m0),
        [r1.root.url]: markerRootUuid(m1),
        [r2.root.url]: "5b0c1c4e-0000-4000-8000-000000000000",
      },
    });
    expect(report.roots.map((r) => r.status)).toEqual(["online", "foreign", "missing"]);
    expect(report.roots[1]?.marker && markerRootUuid(report.roots[1].marker)).toBe(markerRootUuid(m1b));
    expect(Object.keys(report.collections)).toEqual(["c1"]);
  });

  it("reports a marker-less root that a sibling's marker lists as missing, and a marker of another deployment as foreign", async () => {
    const [r0, r1, r2] = await threeRoots(backend);
    await ensureRootMarker(r0, "wal", { deployment: "prod", siblings: [r1.root.url] });
    await ensureRootMarker(r2, "wal", { deployment: "staging-cluster" });
    const report = await discover({ component: "wal", roots: [r0, r1, r2], deployment: "prod" });
    expect(report.roots.map((r) => r.status)).toEqual(["online", "missing", "foreign"]);
    expect(Object.keys(report.collections)).toEqual(["c1"]);
    // Without the sibling's word, a marker-less root is a plain (legacy or fresh) root.
    const alone = await discover({ component: "wal", roots: [r1] });
    expect(alone.roots[0]?.status).toBe("online");
  });

  it("ignores half-written staging left by a crash and lists every staging file for cleanup", async () => {
    const b = await build(backend, {
      r0: {
        "c1/000001.avro": "committed",
        "c1/_staging/flush-7/000002.avro": "half",
        "c1/_staging/flush-7/000003.avro.part": "hal",
        "c2/_staging/flush-1/000001.avro": "never committed",
        "c1/.000004.avro.tmp-1234": "temp",
        "_trash/c9/1.avro": "reserved",
        "bad name/1.avro": "invalid",
        "stray.avro": "top",
      },
    });
    const url = b.roots[0]?.root.url as string;
    for (const plan of ["flat", "delimiter"] as const) {
      const report = await discover({ component: "wal", roots: b.roots, plan });
      expect(Object.keys(report.collections)).toEqual(["c1"]);
      expect(report.collections.c1).toMatchObject({ files: 1, bytes: 9 });
      expect(
        report.ignored
          .filter((e) => e.reason === "staging")
          .map((e) => e.key)
          .sort(),
      ).toEqual([
        "c1/_staging/flush-7/000002.avro",
        "c1/_staging/flush-7/000003.avro.part",
        "c2/_staging/flush-1/000001.avro",
      ]);
      expect(report.ignored).toEqual(
        expect.arrayContaining([
          { url, key: "c1/.000004.avro.tmp-1234", reason: "temp" },
          { url, key: "_trash/", reason: "reserved" },
          { url, key: "bad name/", reason: "invalid-collection-id" },
          { url, key: "stray.avro", reason: "top-level-file" },
        ]),
      );
    }
  });

  it(`finds ${big.toLocaleString("en-US")} collections in one root with as many LIST requests as the cheaper plan needs`, async () => {
    const files: Tree[string] = { [ROOT_MARKER_FILE]: "" };
    for (let i = 0; i < big; i++) files[`coll-${String(i).padStart(5, "0")}/000001.avro`] = "x";
    delete files[ROOT_MARKER_FILE];
    const b = await build(backend, { r0: files });
    const fs = instrument(b.roots[0] as FileSystem);
    const report = await discover({ component: "wal", roots: [fs] });
    expect(Object.keys(report.collections)).toHaveLength(big);
    const pageSize = fs.capabilities.maxListPageSize;
    expect(report.requests).toBe(Math.ceil(big / pageSize));
    expect(report.requests).toBe(fs.pages);
    expect(report.roots[0]?.costs).toEqual({
      flat: report.requests,
      delimiter: Math.ceil(big / pageSize) + big,
      original: 1 + big,
    });
  });

  it("issues exactly the chosen plan's LIST requests, and the automatic plan never exceeds the cheaper one", async () => {
    const files: Tree[string] = {};
    for (let c = 0; c < 7; c++) for (let f = 0; f < c * 3; f++) files[`c${c}/${f}.avro`] = "x";
    files["c2/_staging/s.avro"] = "x";
    files["top.txt"] = "x";
    const b = await build(backend, { r0: files });
    const flatFs = instrument(b.roots[0] as FileSystem);
    const flat = await discover({ component: "wal", roots: [flatFs], pageSize: 4 });
    const delimFs = instrument(b.roots[0] as FileSystem);
    const delim = await discover({ component: "wal", roots: [delimFs], pageSize: 4, plan: "delimiter" });
    const costs = flat.roots[0]?.costs;
    expect(flat.requests).toBe(flatFs.pages);
    expect(flat.requests).toBe(costs?.flat);
    expect(delim.requests).toBe(delimFs.pages);
    expect(delim.requests).toBe(costs?.delimiter);
    expect(flat.requests).toBeLessThanOrEqual(Math.min(costs?.flat ?? 0, costs?.delimiter ?? 0));
    expect(delim.collections).toEqual(flat.collections);
  });

  it("is read-only: every root is byte-for-byte the same afterwards and nothing is created", async () => {
    const b = await build(backend, {
      r0: { "c1/1.avro": "x", "c1/_staging/2.avro": "y", "docs/readme.txt": "z" },
      r1: { "c1/1.avro": "x", "c2/level-0/1.avro": "y" },
    });
    await ensureRootMarker(b.roots[0] as FileSystem, "wal", { siblings: [b.roots[1]?.root.url as string] });
    const absent = b.absent("gone");
    const before = await b.snapshot();
    const roots = [...b.roots, absent];
    await discover({ component: "wal", roots });
    await discover({ component: "wal", roots, plan: "delimiter" });
    await discover({ component: "wal", roots, detail: "names" });
    await discover({ component: "wal", roots, plan: "delimiter", detail: "names" });
    await discoverAll([
      { component: "wal", roots },
      { component: "viper", roots: [b.roots[1] as FileSystem] },
    ]);
    await discoverAll([{ component: "wal", roots }], { detail: "names" });
    expect(await b.snapshot()).toEqual(before);
    expect(await absent.probe()).toEqual({ exists: false });
  });

  it("rebuilds round-robin after a restart: 3 new collections land one per root and old ones keep their roots", async () => {
    const b = await build(backend, { r0: {}, r1: {}, r2: {} });
    const urls = b.roots.map((r) => r.root.url);
    const byUrl = new Map(b.roots.map((r) => [r.root.url, r]));
    const config = { components: { wal: { roots: urls } } } as const;
    const first = new AssignmentService(config);
    const placed = new Map<string, string>();
    for (let i = 0; i < 30; i++) {
      const a = await first.assign(`coll-${i}`, "wal");
      placed.set(a.collection, a.url);
      await byUrl.get(a.url)?.write(`${a.collection}/000001.avro`, "record");
    }
    const second = new AssignmentService(config);
    const report = await discover({ component: "wal", roots: b.roots });
    expect(await recordInto(second, report)).toMatchObject({ recorded: 30, offlineRoots: [] });
    const fresh = await Promise.all(
      ["new-a", "new-b", "new-c"].map(async (id) => (await second.assign(id, "wal")).url),
    );
    expect([...fresh].sort()).toEqual([...urls].sort());
    for (const [collection, url] of placed) expect((await second.assign(collection, "wal")).url).toBe(url);
  });
}

/**
 * A root behind the fault proxy: its first LIST page is served, then every request fails (503 and
 * resets) until the SDK's retries give up. The root is unreachable; the other root is unaffected.
 */
export function describeFaultProxy(backend: StorageBackend): void {
  describe("behind the fault proxy", () => {
    it("reports a root that fails mid-listing as unreachable without failing the healthy root", async () => {
      const files: Tree[string] = {};
      for (let i = 0; i < 12; i++) files[`f${i}/1.avro`] = "x";
      const b = await build(backend, { flaky: files, healthy: { "ok/1.avro": "x" } });
      const proxy = await createFaultProxy({ target: backend.endpoint as string });
      try {
        const flaky = backend.openFileSystem(b.roots[0]?.root.url as string, {
          endpoint: proxy.url,
          attempts: 2,
        });
        const report = await discover({
          component: "wal",
          roots: [flaky, b.roots[1] as FileSystem],
          pageSize: 5,
          onEvent: (e) => {
            if (e.type === "files-scanned" && e.url === flaky.root.url)
              proxy.setFaults({ errorRate: 0.5, resetRate: 0.5 });
          },
        });
        expect(proxy.stats.lists).toBeGreaterThanOrEqual(2);
        expect(report.roots[0]).toMatchObject({ status: "unreachable", collections: 0 });
        expect(report.roots[0]?.error).toMatch(/^(Transient|Unknown)/);
        expect(report.roots[1]?.status).toBe("online");
        expect(Object.keys(report.collections)).toEqual(["ok"]);
        await flaky.close();
      } finally {
        await proxy.close();
      }
    });
  });
}

export type { ComponentType };
