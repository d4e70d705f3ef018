import { type FileSystem, listAll, parseStorageUrl } from "@proximadb/core";
import { EngineError } from "@proximadb/engine";
import { gatedMoves } from "@proximadb/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type IndexEngine, indexFenceMarkerName, indexFileName, indexFiles } from "../src/index.js";
import { type RootsFixture, localRoots, memoryRoots, openIndex } from "./helpers.js";

const v = (x: number) => new Float32Array([x, 1, 0]);

for (const kind of ["memfs", "local disk"] as const) {
  describe(`index fencing on ${kind}`, () => {
    let fixture: RootsFixture;
    const open: IndexEngine[] = [];
    afterEach(async () => {
      for (const e of open.splice(0)) await e.close({ flush: false }).catch(() => undefined);
      await fixture?.dispose();
    });

    async function node(nodeId: string, wrap?: (fs: FileSystem) => FileSystem): Promise<IndexEngine> {
      const roots = wrap
        ? {
            ...fixture,
            openFileSystem: (r: Parameters<RootsFixture["openFileSystem"]>[0]) =>
              wrap(fixture.openFileSystem(r)),
          }
        : fixture;
      const e = await openIndex(roots, { nodeId });
      open.push(e);
      return e;
    }

    async function start(): Promise<void> {
      fixture = kind === "memfs" ? memoryRoots(1) : await localRoots(1);
    }

    it("a save by the fenced-out owner is refused with StaleEpoch and the new owner's generation stays live", async () => {
      await start();
      const a = await node("a");
      await a.fence("c", 1);
      await a.create("c", { dimension: 3, metric: "l2" });
      await a.add("c", [{ id: "x", vector: v(1) }]);
      await a.flush("c");
      const b = await node("b");
      await b.fence("c", 2);
      await b.add("c", [{ id: "y", vector: v(2) }]);
      await b.flush("c");
      await a.add("c", [{ id: "ghost", vector: v(3) }]);
      const err = await a.flush("c").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).kind).toBe("StaleEpoch");
      const restarted = await node("r");
      expect(await restarted.has("c", "y")).toBe(true);
      expect(await restarted.has("c", "ghost")).toBe(false);
    });

    it("a stale save that raced the takeover (committed after the fence) is never loaded", async () => {
      await start();
      const gate: { shut?: Promise<void> } = {};
      const a = await node("a", (fs) => gatedMoves(fs, gate));
      await a.fence("c", 1);
      await a.create("c", { dimension: 3, metric: "l2" });
      await a.add("c", [{ id: "x", vector: v(1) }]);
      await a.flush("c");
      let release: () => void = () => undefined;
      gate.shut = new Promise((r) => {
        release = r;
      });
      await a.add("c", [{ id: "ghost", vector: v(3) }]);
      const stale = a.flush("c");
      await new Promise((r) => setTimeout(r, 50));
      const b = await node("b");
      await b.fence("c", 2);
      release();
      // b's fence removed its staged generation: the commit fails (StaleEpoch), nothing of it lands, and
      // the generation it would have replaced is not deleted: b still reads it.
      await expect(stale).rejects.toMatchObject({ kind: "StaleEpoch" });
      const fs = fixture.openFileSystem(parseStorageUrl(fixture.urls[0] as string));
      expect((await listAll(fs, "c/_staging/")).files).toEqual([]);
      await fs.close();
      expect(await b.has("c", "x")).toBe(true);
      expect(await b.has("c", "ghost")).toBe(false);
      await b.add("c", [{ id: "y", vector: v(2) }]);
      await b.flush("c");
      const restarted = await node("r");
      expect(await restarted.has("c", "ghost")).toBe(false);
      expect(await restarted.has("c", "y")).toBe(true);
    });

    it("a re-fence with no other owner in between saves this node's unsaved changes; after another owner's epoch it drops them", async () => {
      await start();
      const a = await node("a");
      await a.fence("c", 1);
      await a.create("c", { dimension: 3, metric: "l2" });
      await a.add("c", [{ id: "mine", vector: v(1) }]);
      await a.fence("c", 2);
      expect(await a.has("c", "mine")).toBe(true);
      await a.add("c", [{ id: "stale", vector: v(2) }]);
      const b = await node("b");
      await b.fence("c", 3);
      await b.add("c", [{ id: "theirs", vector: v(3) }]);
      await b.flush("c");
      await a.fence("c", 4);
      expect(await a.has("c", "stale")).toBe(false);
      expect(await a.has("c", "theirs")).toBe(true);
      const restarted = await node("r");
      expect(await restarted.has("c", "mine")).toBe(true);
      expect(await restarted.has("c", "stale")).toBe(false);
    });

    it("refuses a fence below the collection's epoch", async () => {
      await start();
      const a = await node("a");
      await a.fence("c", 4);
      await a.create("c", { dimension: 3, metric: "l2" });
      const late = await node("late");
      await expect(late.fence("c", 3)).rejects.toMatchObject({ kind: "StaleEpoch", collection: "c" });
    });
  });
}

describe("index live pair with epochs", () => {
  const file = (name: string) => ({ key: `c/${name}`, size: 1 });
  const pair = (g: number, e: number) => [
    file(indexFileName(g, "hnsw", e)),
    file(indexFileName(g, "idx", e)),
  ];

  it("picks the highest (epoch, generation) pair that is not a stale owner's", () => {
    const files = indexFiles("c/", [
      ...pair(1, 1),
      file(indexFenceMarkerName(2, 2)),
      ...pair(2, 2),
      ...pair(3, 1),
    ]);
    expect(files.live?.idx.key).toBe(`c/${indexFileName(2, "idx", 2)}`);
    expect(files.garbage.map((f) => f.key)).toEqual([
      `c/${indexFileName(1, "idx", 1)}`,
      `c/${indexFileName(3, "idx", 1)}`,
      `c/${indexFileName(1, "hnsw", 1)}`,
      `c/${indexFileName(3, "hnsw", 1)}`,
    ]);
    expect(files.epoch).toBe(2);
    expect(files.nextGeneration).toBe(4);
  });

  it("keeps a lower epoch's pair live below the higher epoch's marker until the new owner saves", () => {
    const files = indexFiles("c/", [...pair(1, 1), file(indexFenceMarkerName(2, 2))]);
    expect(files.live?.generation).toBe(1);
    expect(files.nextGeneration).toBe(2);
  });
});
