import type { StorageBackend } from "@proximadb/testing-backends";
import { afterEach, expect, it } from "vitest";
import { isViperError } from "../src/index.js";
import { expected, makeRecords, openViper, plain, scanAll } from "./helpers.js";

/**
 * The flush / scan / compact / restart specification, run against one backend (the body of a
 * `describeOnBackends`). Every test gets fresh roots.
 */
export function describeViperRoundTrip(backend: StorageBackend): void {
  const open: { dispose(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.dispose();
  });
  async function setup() {
    const roots = await backend.roots("viper", 2);
    const viper = await openViper(roots);
    open.push({ dispose: () => viper.close() });
    return { roots, viper };
  }

  it("reads back exactly what one flush wrote: ids, float32 vectors and JSON metadata", async () => {
    const { viper } = await setup();
    const batch = makeRecords(50, 16);
    const result = await viper.flush("docs", batch);
    expect(result?.key).toBe("docs/vectors/part-0000000000000001.parquet");
    expect(result?.records).toBe(50);
    expect(await scanAll(viper, "docs")).toEqual(plain(batch));
    expect(await viper.count("docs")).toBe(50);
    const one = await viper.get("docs", "rec-7");
    expect(one?.metadata).toEqual({ n: 7, tag: "t0", text: "naïve ☃" });
    expect(Array.from(one?.vector ?? [])).toEqual(Array.from(batch[7]?.vector ?? []));
    expect(await viper.get("docs", "absent")).toBeUndefined();
    expect(await viper.dimension("docs")).toBe(16);
  });

  it("lets the newest version of a record win and hides tombstoned records", async () => {
    const { viper } = await setup();
    const first = makeRecords(20, 8, { seed: 1 });
    const second = [
      ...makeRecords(5, 8, { seed: 2 }),
      { id: "rec-10", deleted: true },
      { id: "rec-11", deleted: true },
    ];
    await viper.flush("c1", first);
    await viper.flush("c1", second);
    expect(await scanAll(viper, "c1")).toEqual(plain(expected([first, second]).values()));
    expect(await viper.count("c1")).toBe(18);
    expect(await viper.get("c1", "rec-10")).toBeUndefined();
    expect(Array.from((await viper.get("c1", "rec-3"))?.vector ?? [])).toEqual(
      Array.from(second[3]?.vector ?? []),
    );
    expect((await viper.get("c1", "rec-3"))?.sequence).toBe(2);
  });

  it("keeps the last of several versions of one id within a batch", async () => {
    const { viper } = await setup();
    const a = makeRecords(1, 4, { seed: 1 })[0];
    const b = makeRecords(1, 4, { seed: 2 })[0];
    if (!a || !b) throw new Error("records");
    const result = await viper.flush("dups", [a, b]);
    expect(result?.records).toBe(1);
    expect(await scanAll(viper, "dups")).toEqual(plain([b]));
  });

  it("compacts many files into parts near targetFileBytes, dropping old versions and tombstones", async () => {
    const { roots, viper } = await setup();
    const batches = [
      makeRecords(300, 32, { seed: 1 }),
      makeRecords(300, 32, { seed: 2, start: 150 }),
      [
        ...makeRecords(100, 32, { seed: 3, start: 400 }),
        ...Array.from({ length: 50 }, (_, i) => ({ id: `rec-${i}`, deleted: true })),
      ],
      makeRecords(200, 32, { seed: 4, start: 600 }),
    ];
    for (const b of batches) await viper.flush("big", b);
    const want = plain(expected(batches).values());
    const before = await viper.files("big");
    const result = await viper.compact("big", { targetFileBytes: 40_000 });
    expect(result.compacted).toBe(true);
    expect(result.inputs).toEqual(before?.live.map((f) => f.key));
    expect(result.rowsIn).toBe(300 + 300 + 150 + 200);
    expect(result.rowsOut).toBe(want.length);
    expect(result.outputs.length).toBeGreaterThan(1);
    expect(await scanAll(viper, "big")).toEqual(want);
    const after = await viper.files("big");
    expect(after?.live.map((f) => f.key)).toEqual(result.outputs);
    expect(after?.garbage).toEqual([]);
    expect(await roots.keys(viper.locate("big")?.url as string, "big/")).toEqual([...result.outputs].sort());
    // A second compaction with nothing to merge is a no-op.
    expect((await viper.compact("big", { targetFileBytes: 40_000 })).compacted).toBe(false);
    // Flushing after a compaction continues the sequence and stays visible.
    const later = makeRecords(10, 32, { seed: 9 });
    const flushed = await viper.flush("big", later);
    expect(flushed?.sequence).toBe(5);
    expect(await scanAll(viper, "big")).toEqual(plain(expected([...batches, later]).values()));
    const again = await viper.compact("big", { targetFileBytes: 1 << 30 });
    expect(again.outputs).toHaveLength(1);
    expect(await scanAll(viper, "big")).toEqual(plain(expected([...batches, later]).values()));
  });

  it("recognises its collections after a restart and reads back what was flushed", async () => {
    const { roots, viper } = await setup();
    const a = makeRecords(40, 12, { seed: 5 });
    await viper.flush("alpha", a);
    await viper.flush("beta", makeRecords(3, 6));
    await viper.createCollection("gamma", { dimension: 24 });
    await viper.compact("alpha");
    await viper.close();
    const reopened = await openViper(roots, "node-b");
    open.push({ dispose: () => reopened.close() });
    expect(reopened.collections().sort()).toEqual(["alpha", "beta", "gamma"]);
    expect(await scanAll(reopened, "alpha")).toEqual(plain(a));
    expect(await reopened.dimension("gamma")).toBe(24);
    expect(await reopened.count("gamma")).toBe(0);
    const err = await reopened.flush("gamma", makeRecords(1, 3)).catch((e: unknown) => e);
    expect(isViperError(err, "DimensionMismatch")).toBe(true);
    const next = await reopened.flush("alpha", makeRecords(1, 12, { start: 99 }));
    expect(next?.sequence).toBe(2);
  });

  it("leaves no staging file behind after flushes and compactions", async () => {
    const { roots, viper } = await setup();
    for (let i = 0; i < 3; i++) await viper.flush("s", makeRecords(10, 4, { seed: i }));
    await viper.compact("s");
    const location = viper.locate("s");
    if (!location) throw new Error("not placed");
    const keys = await roots.keys(location.url, "s/");
    expect(keys.filter((k) => k.includes("_staging"))).toEqual([]);
  });
}
