import { DataCorruptionError } from "@proximadb/core";
import { type StorageBackend, describeOnBackends } from "@proximadb/testing-backends";
import { afterEach, expect, it } from "vitest";
import type { VectorRecord, ViperEngine } from "../src/index.js";
import { WHOLE_FILE_KEYS_BYTES } from "../src/live-files.js";
import { countingFileSystem, fsCounts, withoutReaders } from "./counting-fs.js";
import { expected, makeRecords, openViper } from "./helpers.js";

// Small row groups (about 7 records of dimension 16), so every file has many of them.
const ROW_GROUP_BYTES = 1024;

/** Flush batches that overwrite and delete across files: ids rec-0..rec-399, newest version wins. */
function batches(dimension: number): VectorRecord[][] {
  return [
    makeRecords(200, dimension, { seed: 1 }),
    makeRecords(150, dimension, { seed: 2, start: 100 }),
    [
      ...makeRecords(50, dimension, { seed: 3, start: 350 }),
      ...Array.from({ length: 30 }, (_, i) => ({ id: `rec-${i * 7}`, deleted: true })),
    ],
    makeRecords(20, dimension, { seed: 4, start: 140 }),
  ];
}

/** Sequence (1-based flush number) of the newest version of each id. */
function sequences(all: readonly (readonly VectorRecord[])[]): Map<string, number> {
  const out = new Map<string, number>();
  all.forEach((batch, i) => {
    for (const r of batch) out.set(r.id, i + 1);
  });
  return out;
}

async function expectEveryGet(
  viper: ViperEngine,
  collection: string,
  all: readonly (readonly VectorRecord[])[],
  seqs: Map<string, number> | undefined,
): Promise<void> {
  const want = expected(all);
  const ids = new Set(all.flatMap((b) => b.map((r) => r.id)));
  for (const id of [...ids, "absent", ""]) {
    const got = await viper.get(collection, id);
    const w = want.get(id);
    if (!w) {
      expect(got, id).toBeUndefined();
      expect(await viper.has(collection, id), id).toBe(false);
      continue;
    }
    expect(got?.id, id).toBe(id);
    expect(Array.from(got?.vector ?? []), id).toEqual(Array.from(w.vector ?? []));
    expect(got?.metadata, id).toEqual(w.metadata);
    if (seqs) expect(got?.sequence, id).toBe(seqs.get(id));
    expect(await viper.has(collection, id), id).toBe(true);
  }
}

describeOnBackends("VIPER point reads", ["memory", "local"], (backend: StorageBackend) => {
  const open: ViperEngine[] = [];
  afterEach(async () => {
    for (const v of open.splice(0)) await v.close();
  });
  async function setup(wrap?: Parameters<typeof openViper>[2]) {
    const roots = await backend.roots("viper", 1);
    const viper = await openViper(roots, "node-a", { rowGroupBytes: ROW_GROUP_BYTES, ...wrap });
    open.push(viper);
    return { roots, viper };
  }

  it("gets the newest version of every id after flushes that overwrite and delete across files", async () => {
    const { viper } = await setup();
    const all = batches(16);
    for (const b of all) await viper.flush("docs", b);
    await expectEveryGet(viper, "docs", all, sequences(all));
    expect(await viper.count("docs")).toBe(expected(all).size);
  });

  it("sees a flush of this process at the next get without listing again", async () => {
    const counts = fsCounts();
    const { viper } = await setup({ wrap: (fs) => countingFileSystem(fs, counts) });
    const all = batches(16);
    await viper.flush("docs", all[0] as VectorRecord[]);
    expect(await viper.get("docs", "rec-150")).toBeDefined(); // builds the index
    for (const b of all.slice(1)) await viper.flush("docs", b);
    counts.reset();
    await expectEveryGet(viper, "docs", all, sequences(all));
    expect(counts.lists).toBe(0);
  });

  it("gets every id after a compaction, and after a reopen, with tombstoned ids absent", async () => {
    const { roots, viper } = await setup();
    const all = batches(16);
    for (const b of all) await viper.flush("docs", b);
    expect(await viper.get("docs", "rec-1")).toBeDefined(); // index built before the compaction
    const result = await viper.compact("docs", { targetFileBytes: 8_000 });
    expect(result.outputs.length).toBeGreaterThan(1);
    await expectEveryGet(viper, "docs", all, undefined);
    expect(await viper.count("docs")).toBe(expected(all).size);
    // Flushing after the compaction adds to the index built from the compaction's output.
    const later = [...makeRecords(5, 16, { seed: 9, start: 10 }), { id: "rec-11", deleted: true }];
    await viper.flush("docs", later);
    await expectEveryGet(viper, "docs", [...all, later], undefined);
    await viper.close();
    const reopened = await openViper(roots, "node-b", { rowGroupBytes: ROW_GROUP_BYTES });
    open.push(reopened);
    await expectEveryGet(reopened, "docs", [...all, later], undefined);
    expect(await reopened.count("docs")).toBe(expected([...all, later]).size);
  });

  it("reads one range of one file per get once the index is built: no listing, no stat, no whole file", async () => {
    const counts = fsCounts();
    const { viper } = await setup({ wrap: (fs) => countingFileSystem(fs, counts) });
    const all = batches(16);
    for (const b of all) await viper.flush("docs", b);
    const sizes = new Map((await viper.files("docs"))?.live.map((f) => [f.key, f.size]));
    counts.reset();
    expect(await viper.get("docs", "rec-5")).toBeDefined();
    expect(counts.lists).toBe(1); // the index is built from one listing at the first read
    const want = expected(all);
    for (const id of ["rec-5", "rec-150", "rec-399", "rec-7", "rec-141", "nope"]) {
      counts.reset();
      const got = await viper.get("docs", id);
      expect(got === undefined, id).toBe(!want.has(id));
      expect(counts.lists, id).toBe(0);
      expect(counts.stats, id).toBe(0);
      expect(counts.reads.length, id).toBe(want.has(id) ? 1 : 0);
      for (const read of counts.reads) {
        const size = sizes.get(read.key) as number;
        expect(read.range, id).toBeDefined();
        expect(read.range?.length, id).toBeLessThan(size / 4);
      }
    }
    counts.reset();
    expect(await viper.has("docs", "rec-5")).toBe(true);
    expect(await viper.has("docs", "rec-7")).toBe(false); // tombstoned
    expect(counts.reads).toEqual([]);
    expect(counts.lists).toBe(0);
  });

  it("builds the index of a large file from ranged reads of its footer and key columns only", async () => {
    const counts = fsCounts();
    const { roots, viper } = await setup({
      rowGroupBytes: 16 * 1024,
      wrap: (fs) => countingFileSystem(fs, counts),
    });
    const big = makeRecords(5000, 128, { seed: 5 });
    const flushed = await viper.flush("big", big);
    expect(flushed?.bytes).toBeGreaterThan(WHOLE_FILE_KEYS_BYTES);
    await viper.close();
    counts.reset();
    const reopened = await openViper(roots, "node-b", { wrap: (fs) => countingFileSystem(fs, counts) });
    open.push(reopened);
    const got = await reopened.get("big", "rec-4321");
    expect(Array.from(got?.vector ?? [])).toEqual(Array.from(big[4321]?.vector ?? []));
    const dataReads = counts.reads.filter((r) => r.key === flushed?.key);
    expect(dataReads.length).toBeGreaterThan(2);
    expect(dataReads.every((r) => r.range !== undefined)).toBe(true);
    const bytesRead = dataReads.reduce((a, r) => a + (r.range?.length ?? 0), 0);
    // Footer and ids: a small part of a file that is mostly vectors.
    expect(bytesRead).toBeLessThan((flushed?.bytes as number) / 4);
  });

  it("scans by reading each live file once, whole, with no key pass", async () => {
    const counts = fsCounts();
    const { viper } = await setup({ wrap: (fs) => countingFileSystem(fs, counts) });
    const all = batches(16);
    for (const b of all) await viper.flush("docs", b);
    expect(await viper.count("docs")).toBe(expected(all).size); // index built
    const live = (await viper.files("docs"))?.live.map((f) => f.key) ?? [];
    counts.reset();
    let n = 0;
    for await (const _ of viper.scan("docs")) n++;
    expect(n).toBe(expected(all).size);
    expect(counts.reads.map((r) => [r.key, r.range])).toEqual(live.map((k) => [k, undefined]));
    expect(counts.lists).toBe(0);
  });

  it("fails a get with DataCorruptionError when a file no longer holds the row its index names", async () => {
    // Without positional readers: an open reader would go on reading the file as it was when opened.
    const { roots, viper } = await setup({ wrap: withoutReaders });
    const first = makeRecords(100, 16, { seed: 1 });
    const r1 = await viper.flush("docs", first);
    await viper.flush("docs", makeRecords(10, 16, { seed: 2, start: 1000 }));
    expect(await viper.get("docs", "rec-50")).toBeDefined();
    // Someone else rewrites the first file behind the engine's back (not allowed: one writer per collection).
    const other = await openViper(roots, "node-b", { rowGroupBytes: 4096 });
    open.push(other);
    await other.flush("elsewhere", makeRecords(100, 16, { seed: 7, prefix: "other" }));
    const fs = roots.fileSystems()[0];
    if (!fs || !r1) throw new Error("setup");
    const foreign = await fs.read("elsewhere/vectors/part-0000000000000001.parquet");
    await fs.write(r1.key, foreign);
    const err = await viper.get("docs", "rec-50").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataCorruptionError);
    expect((err as DataCorruptionError).key).toBe(r1.key);
  });

  it("fails the first read with DataCorruptionError naming a live file that is not Parquet", async () => {
    const { roots, viper } = await setup();
    await viper.flush("docs", makeRecords(10, 4));
    const fs = roots.fileSystems()[0];
    if (!fs) throw new Error("setup");
    const key = "docs/vectors/part-0000000000000002.parquet";
    await fs.write(key, "not parquet at all, just text");
    await viper.close();
    const reopened = await openViper(roots, "node-b");
    open.push(reopened);
    const err = await reopened.get("docs", "rec-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataCorruptionError);
    expect((err as DataCorruptionError).key).toBe(key);
  });
});
