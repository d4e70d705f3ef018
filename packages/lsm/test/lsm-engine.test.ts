import { ClosedError, DataCorruptionError, ROOT_MARKER_FILE } from "@proximadb/core";
import { type RootSet, describeOnBackends, expectPlaceAndDrop } from "@proximadb/testing-backends";
import { beforeEach, expect, it } from "vitest";
import { LsmCorruptionError } from "../src/index.js";
import { openEngine, scanText, text } from "./helpers.js";

describeOnBackends("LsmEngine", ["memory", "local"], (backend) => {
  let tier: RootSet;
  beforeEach(async () => {
    tier = await backend.roots("disk", 2);
  });

  it("puts, gets, deletes and scans ascending with gte/lt/limit, from memtable and SSTables alike", async () => {
    const lsm = await openEngine(tier);
    await lsm.batch("orders", [
      { type: "put", key: "b", value: "2" },
      { type: "put", key: "a", value: "1" },
      { type: "put", key: "d", value: "4" },
    ]);
    await lsm.flush("orders");
    await lsm.put("orders", "c", "3");
    await lsm.delete("orders", "d");
    await lsm.put("orders", "a", "1b");
    expect(text(await lsm.get("orders", "a"))).toBe("1b");
    expect(text(await lsm.get("orders", "b"))).toBe("2");
    expect(await lsm.get("orders", "d")).toBeUndefined();
    expect(await lsm.get("orders", "zzz")).toBeUndefined();
    expect(await scanText(lsm, "orders")).toEqual([
      ["a", "1b"],
      ["b", "2"],
      ["c", "3"],
    ]);
    expect(await scanText(lsm, "orders", { gte: "b", lt: "c" })).toEqual([["b", "2"]]);
    expect(await scanText(lsm, "orders", { gte: "a0", limit: 1 })).toEqual([["b", "2"]]);
    await lsm.close();
    const again = await openEngine(tier);
    expect(await scanText(again, "orders")).toEqual([
      ["a", "1b"],
      ["b", "2"],
      ["c", "3"],
    ]);
    await again.close();
  });

  it("get hands out copies of memtable values: overwriting one changes nothing stored", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("c", "k", "mem-value");
    (await lsm.get("c", "k"))?.fill(0x21);
    expect(text(await lsm.get("c", "k"))).toBe("mem-value");
    await lsm.close();
  });

  it("get hands out copies of table values: overwriting one changes nothing stored, read or cached", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("c", "k", "table-value");
    await lsm.flush("c");
    (await lsm.get("c", "k"))?.fill(0x21); // read from the file (and cached)
    (await lsm.get("c", "k"))?.fill(0x21); // served from the block cache
    expect(text(await lsm.get("c", "k"))).toBe("table-value");
    await lsm.close();
  });

  it("scan hands out copies: overwriting a yielded key or value changes nothing stored", async () => {
    const lsm = await openEngine(tier);
    await lsm.batch("c", [
      { type: "put", key: "a", value: "table-a" },
      { type: "put", key: "b", value: "table-b" },
    ]);
    await lsm.flush("c");
    await lsm.put("c", "m", "mem-m");
    for await (const { key, value } of lsm.scan("c")) {
      key.fill(0x7a);
      value.fill(0x21);
    }
    expect(await scanText(lsm, "c")).toEqual([
      ["a", "table-a"],
      ["b", "table-b"],
      ["m", "mem-m"],
    ]);
    await lsm.close();
  });

  it("writes SSTables as <id>/level-<n>/<number>.sst in the collection's own root, numbered on from the listing after a restart", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("alpha", "k", "v");
    await lsm.put("beta", "k", "v");
    await lsm.flush("alpha");
    await lsm.flush("beta");
    await lsm.put("alpha", "k2", "v2");
    await lsm.flush("alpha");
    await lsm.close();
    const [first, second] = tier.urls as [string, string];
    expect(await tier.keys(first)).toEqual([
      ROOT_MARKER_FILE,
      "alpha/level-0/00000001.sst",
      "alpha/level-0/00000002.sst",
    ]);
    expect(await tier.keys(second)).toEqual([ROOT_MARKER_FILE, "beta/level-0/00000001.sst"]);

    const again = await openEngine(tier);
    await again.put("alpha", "k3", "v3");
    await again.flush("alpha");
    expect((await again.stats("alpha"))?.levels).toEqual([[3, 2, 1]]);
    await again.close();
  });

  it("is found by discovery after a restart: its collections are back in their roots without being written", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("alpha", "k", "v");
    await lsm.put("beta", "k", "v");
    await lsm.close();
    const again = await openEngine(tier);
    expect(again.collections().sort()).toEqual(["alpha", "beta"]);
    expect(again.locate("alpha")?.url).toBe(tier.urls[0]);
    expect(again.locate("beta")?.url).toBe(tier.urls[1]);
    expect(text(await again.get("beta", "k"))).toBe("v");
    await again.close();
  });

  it("merges a full level into one file of the next level and deletes its inputs", async () => {
    const lsm = await openEngine(tier, { levelFanout: 3 });
    for (let i = 0; i < 3; i++) {
      await lsm.put("c1", `k${i}`, `v${i}`);
      await lsm.put("c1", "shared", `s${i}`);
      await lsm.flush("c1");
    }
    expect((await lsm.stats("c1"))?.levels).toEqual([[], [4]]);
    const url = tier.urls[0] as string;
    expect((await tier.keys(url)).filter((k) => k.startsWith("c1/"))).toEqual(["c1/level-1/00000004.sst"]);
    expect(await scanText(lsm, "c1")).toEqual([
      ["k0", "v0"],
      ["k1", "v1"],
      ["k2", "v2"],
      ["shared", "s2"],
    ]);
    await lsm.close();
  });

  it("compact() merges every level into one file and drops tombstones for good", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("c1", "a", "1");
    await lsm.put("c1", "b", "2");
    await lsm.flush("c1");
    await lsm.delete("c1", "a");
    await lsm.flush("c1");
    await lsm.compact("c1");
    const stats = await lsm.stats("c1");
    expect(stats?.levels.flat()).toEqual([3]);
    expect(await scanText(lsm, "c1")).toEqual([["b", "2"]]);
    expect((await tier.keys(tier.urls[0] as string)).filter((k) => k.startsWith("c1/"))).toEqual([
      "c1/level-1/00000003.sst",
    ]);
    await lsm.close();
  });

  it("close({ flush: false }) drops unflushed writes, as a crash would (the WAL's job to replay)", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("c1", "kept", "1");
    await lsm.flush("c1");
    await lsm.put("c1", "lost", "2");
    await lsm.close({ flush: false });
    const again = await openEngine(tier);
    expect(await scanText(again, "c1")).toEqual([["kept", "1"]]);
    await again.close();
  });

  it("recovers from the listing alone: a committed compaction output makes its leftover inputs dead, and they are deleted", async () => {
    const lsm = await openEngine(tier, { levelFanout: 2 });
    await lsm.put("c1", "a", "old");
    await lsm.flush("c1");
    const fs = tier.openFileSystem(tier.urls[0] as string);
    const input1 = await fs.read("c1/level-0/00000001.sst");
    await lsm.put("c1", "a", "new");
    await lsm.flush("c1"); // level 0 full: 1 + 2 → level-1/00000003.sst
    const input2 = await fs.read("c1/level-0/00000002.sst").catch(() => undefined);
    expect(input2).toBeUndefined();
    await lsm.close();
    // A crash between the commit and the deletes: the input is still listed.
    await fs.write("c1/level-0/00000001.sst", input1);
    const again = await openEngine(tier, { levelFanout: 2 });
    expect(text(await again.get("c1", "a"))).toBe("new");
    expect((await again.stats("c1"))?.levels).toEqual([[], [3]]);
    expect(await fs.exists("c1/level-0/00000001.sst")).toBe(false);
    await again.close();
    await fs.close();
  });

  it("auto-flushes when the memtable fills and keeps every key readable across flushes and compactions", async () => {
    const lsm = await openEngine(tier, { memtableBytes: 16 * 1024, levelFanout: 3, blockCacheBytes: 0 });
    const n = 3000;
    for (let i = 0; i < n; i += 100) {
      await lsm.batch(
        "big",
        Array.from({ length: 100 }, (_, j) => ({
          type: "put" as const,
          key: `key-${String(((i + j) * 7919) % n).padStart(6, "0")}`,
          value: `value-${i + j}`,
        })),
      );
    }
    const stats = await lsm.stats("big");
    expect(stats?.levels.flat().length).toBeGreaterThan(1);
    expect(stats?.levels.length).toBeGreaterThan(1);
    const all = await scanText(lsm, "big");
    expect(all.length).toBe(n);
    expect(all.map(([k]) => k)).toEqual([...all.map(([k]) => k)].sort());
    for (const i of [0, 1, 1234, 2999])
      expect(text(await lsm.get("big", `key-${String(i).padStart(6, "0")}`))).toMatch(/^value-/);
    await lsm.close();
  });

  it("reports a corrupt SSTable as LsmCorruptionError (a DataCorruptionError) naming the file, on open and on a block read", async () => {
    const lsm = await openEngine(tier, { blockCacheBytes: 0 });
    for (let i = 0; i < 500; i++) await lsm.put("c1", `key-${String(i).padStart(4, "0")}`, `value-${i}`);
    await lsm.flush("c1");
    await lsm.close();
    const fs = tier.openFileSystem(tier.urls[0] as string);
    const key = "c1/level-0/00000001.sst";
    const good = await fs.read(key);

    // A flipped byte in the first data block: the table opens, the read of that block fails.
    const bad = Uint8Array.prototype.slice.call(good);
    bad[10] = (bad[10] as number) ^ 0xff;
    await fs.write(key, bad);
    const a = await openEngine(tier, { blockCacheBytes: 0 });
    const err = await a.get("c1", "key-0000").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LsmCorruptionError);
    expect(err).toBeInstanceOf(DataCorruptionError);
    expect(err).toMatchObject({ code: "DATA_CORRUPTION", kind: "BlockChecksum", key, root: tier.urls[0] });
    await expect(a.get("c1", "key-0499")).resolves.toBeDefined();
    await a.close({ flush: false });

    // A flipped byte in the footer: the table cannot open.
    const badFooter = Uint8Array.prototype.slice.call(good);
    badFooter[good.length - 20] = (badFooter[good.length - 20] as number) ^ 0x01;
    await fs.write(key, badFooter);
    const b = await openEngine(tier);
    await expect(b.get("c1", "key-0000")).rejects.toMatchObject({
      name: "LsmCorruptionError",
      kind: "Footer",
      key,
    });
    await b.close({ flush: false });
    await fs.close();
  });

  it("places a collection without writing a table, and drop deletes its files and placement", async () => {
    const lsm = await openEngine(tier);
    await expectPlaceAndDrop(lsm, {
      component: "lsm",
      urls: tier.urls,
      id: "orders",
      keys: async (placed) => (await tier.keys(placed.url)).filter((k) => k.startsWith("orders/")),
      write: async () => {
        await lsm.put("orders", "k", "v");
        await lsm.flush("orders");
      },
    });
    await lsm.close();
  });

  it("refuses work after close with ClosedError", async () => {
    const lsm = await openEngine(tier);
    await lsm.put("orders", "k", "v");
    await lsm.close();
    await expect(lsm.put("orders", "k", "v2")).rejects.toBeInstanceOf(ClosedError);
    await expect(lsm.get("orders", "k")).rejects.toBeInstanceOf(ClosedError);
    await expect(lsm.flush("orders")).rejects.toBeInstanceOf(ClosedError);
    await expect(lsm.scan("orders").next()).rejects.toBeInstanceOf(ClosedError);
    expect(() => lsm.locate("orders")).toThrow(ClosedError);
    await expect(lsm.place("orders")).rejects.toBeInstanceOf(ClosedError);
    await lsm.close(); // a second close does nothing
  });
});
