import { type FaultProxy, createFaultProxy } from "@proximadb/testing/fault-proxy";
import { useBackend } from "@proximadb/testing-backends";
import { afterEach, describe, expect, it } from "vitest";
import type { ViperEngine } from "../src/index.js";
import { countingFileSystem, fsCounts } from "./counting-fs.js";
import { expected, makeRecords, openViper } from "./helpers.js";

describe("VIPER point reads on s3rver, counted at the HTTP level", () => {
  const s3 = useBackend("s3");
  let proxy: FaultProxy | undefined;
  let viper: ViperEngine | undefined;
  afterEach(async () => {
    await viper?.close();
    await proxy?.close();
  });

  it("answers each get with one ranged GET and no LIST once the collection's index is built", async () => {
    // A proxy without faults in front of s3rver counts every request the SDK makes.
    const p = await createFaultProxy({ target: s3.endpoint as string });
    proxy = p;
    const roots = await s3.roots("viper", 1);
    const counts = fsCounts();
    const v = await openViper(
      { urls: roots.urls, openFileSystem: (root) => s3.openFileSystem(root, { endpoint: p.url }) },
      "node-a",
      { rowGroupBytes: 2048, wrap: (fs) => countingFileSystem(fs, counts) },
    );
    viper = v;
    const batches = [
      makeRecords(300, 32, { seed: 1 }),
      makeRecords(200, 32, { seed: 2, start: 250 }),
      [{ id: "rec-3", deleted: true }],
    ];
    for (const b of batches) await v.flush("docs", b);
    const sizes = new Map((await v.files("docs"))?.live.map((f) => [f.key, f.size]));
    expect(await v.get("docs", "rec-0")).toBeDefined(); // builds the index: one LIST, then the files
    const want = expected(batches);
    for (const id of ["rec-0", "rec-299", "rec-300", "rec-449", "rec-3", "absent"]) {
      p.resetStats();
      counts.reset();
      const got = await v.get("docs", id);
      const w = want.get(id);
      expect(Array.from(got?.vector ?? []), id).toEqual(Array.from(w?.vector ?? []));
      expect(p.stats.lists, id).toBe(0);
      expect(p.stats.requests, id).toBe(w ? 1 : 0);
      expect(p.stats.byMethod.GET ?? 0, id).toBe(w ? 1 : 0);
      for (const read of counts.reads) {
        expect(read.range, id).toBeDefined();
        expect(read.range?.length, id).toBeLessThan((sizes.get(read.key) as number) / 4);
      }
    }
    p.resetStats();
    expect(await v.has("docs", "rec-449")).toBe(true);
    expect(await v.has("docs", "rec-3")).toBe(false);
    expect(p.stats.requests).toBe(0);
  });
});
