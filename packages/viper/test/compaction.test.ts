import { ClosedError } from "@proximadb/core";
import { useBackend } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { expected, makeRecords, openViper, plain, scanAll } from "./helpers.js";

describe("compaction edge cases (memfs)", () => {
  const memory = useBackend("memory");

  it("names every part with the number of parts actually written, even one row per part", async () => {
    const viper = await openViper(await memory.roots("viper", 1));
    try {
      const a = makeRecords(12, 4, { seed: 1 });
      const b = makeRecords(8, 4, { seed: 2, start: 6 });
      await viper.flush("tiny", a);
      await viper.flush("tiny", b);
      const result = await viper.compact("tiny", { targetFileBytes: 1 });
      expect(result.outputs).toHaveLength(14);
      expect(result.outputs.every((k) => k.endsWith("of00014.parquet"))).toBe(true);
      expect((await viper.files("tiny"))?.live.map((f) => f.key)).toEqual(result.outputs);
      expect(await scanAll(viper, "tiny")).toEqual(plain(expected([a, b]).values()));
    } finally {
      await viper.close();
    }
  });

  it("keeps a collection whose records are all deleted as one empty part, so its dimension survives", async () => {
    const fixture = await memory.roots("viper", 1);
    const viper = await openViper(fixture);
    const batch = makeRecords(5, 6);
    await viper.flush("gone", batch);
    await viper.flush(
      "gone",
      batch.map((r) => ({ id: r.id, deleted: true })),
    );
    const result = await viper.compact("gone");
    expect(result.rowsOut).toBe(0);
    expect(result.outputs).toHaveLength(1);
    expect(await viper.count("gone")).toBe(0);
    await viper.close();
    const reopened = await openViper(fixture);
    expect(reopened.collections()).toEqual(["gone"]);
    expect(await reopened.dimension("gone")).toBe(6);
    await reopened.close();
  });

  it("does not pull files from under a scan in progress: the inputs stay until the next compaction", async () => {
    const viper = await openViper(await memory.roots("viper", 1));
    try {
      const batches = [makeRecords(30, 4, { seed: 1 }), makeRecords(30, 4, { seed: 2, start: 20 })];
      for (const b of batches) await viper.flush("busy", b);
      const scan = viper.scan("busy");
      const first = await scan.next();
      const result = await viper.compact("busy");
      expect(result.compacted).toBe(true);
      expect(result.inputsDeleted).toBe(false);
      const rest = [];
      for await (const r of scan) rest.push(r);
      expect(rest.length + (first.done ? 0 : 1)).toBe(50);
      expect((await viper.files("busy"))?.garbage.map((f) => f.key)).toEqual(result.inputs);
      expect(await scanAll(viper, "busy")).toEqual(plain(expected(batches).values()));
      const next = await viper.compact("busy");
      expect(next.garbageRemoved).toBe(2);
      expect((await viper.files("busy"))?.garbage).toEqual([]);
    } finally {
      await viper.close();
    }
  });

  it("refuses work after close with a typed error", async () => {
    const viper = await openViper(await memory.roots("viper", 1));
    await viper.close();
    const err = await viper.flush("late", makeRecords(1, 2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClosedError);
    const counted = await viper.count("late").catch((e: unknown) => e);
    expect(counted).toBeInstanceOf(ClosedError);
    expect(() => viper.locate("late")).toThrow(ClosedError);
    await expect(viper.place("late")).rejects.toBeInstanceOf(ClosedError);
  });
});
