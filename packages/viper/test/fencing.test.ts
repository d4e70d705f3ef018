import { AssignmentService, type FileSystem } from "@proximadb/core";
import { EngineError } from "@proximadb/engine";
import { gatedMoves, gatedWrites } from "@proximadb/testing";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { ViperEngine, compactedFileName, fenceMarkerFileName, flushFileName, liveSet } from "../src/index.js";
import { keysOf, openViper } from "./helpers.js";

const vec = (x: number) => new Float32Array([x, x, x]);

describeOnBackends("VIPER fencing", ["memory", "local"], (backend) => {
  const env = rootsPerTest<ViperEngine>(backend, "viper", 1, { ignoreCloseErrors: true });

  async function node(id: string, wrap?: (fs: FileSystem) => FileSystem): Promise<ViperEngine> {
    const v = await openViper(env.tier, id, wrap ? { wrap } : {});
    env.opened.push(v);
    return v;
  }

  /** a owns `c` at epoch 1 and flushes x=1; b takes over at epoch 2 and flushes x=2. */
  async function takeover(a: ViperEngine): Promise<ViperEngine> {
    await a.fence("c", 1);
    await a.flush("c", [{ id: "x", vector: vec(1) }]);
    const b = await node("b");
    await b.fence("c", 2);
    await b.flush("c", [{ id: "x", vector: vec(2) }]);
    return b;
  }

  it("a flush by the fenced-out owner is refused with StaleEpoch and the newer value stays", async () => {
    const a = await node("a");
    const b = await takeover(a);
    const err = await a.flush("c", [{ id: "x", vector: vec(9) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).kind).toBe("StaleEpoch");
    expect((await b.get("c", "x"))?.vector).toEqual(vec(2));
  });

  /**
   * a owns `c` at epoch 1 and flushes x=1, then starts a stale flush (x=9, ghost) that `wrap` pauses;
   * b opens, fences `c` at epoch 2 meanwhile, and the stale flush resumes. Returns b and the stale flush's outcome.
   */
  async function raceTakeover(
    wrap: (fs: FileSystem, gate: { shut?: Promise<void> }) => FileSystem,
  ): Promise<{ b: ViperEngine; stale: unknown }> {
    const gate: { shut?: Promise<void> } = {};
    const a = await node("a", (fs) => wrap(fs, gate));
    await a.fence("c", 1);
    await a.flush("c", [{ id: "x", vector: vec(1) }]);
    let open: () => void = () => undefined;
    gate.shut = new Promise((r) => {
      open = r;
    });
    // a listed (no higher epoch yet) and waits; b takes over meanwhile.
    const stale = a
      .flush("c", [
        { id: "x", vector: vec(9) },
        { id: "ghost", vector: vec(9) },
      ])
      .then(
        () => "committed",
        (e: unknown) => e,
      );
    await new Promise((r) => setTimeout(r, 50));
    const b = await node("b");
    await b.fence("c", 2);
    open();
    return { b, stale: await stale };
  }

  /** What b and a restarted node read after the race: b's data, exactly; nothing of the stale flush. */
  async function expectNewOwnerExact(b: ViperEngine): Promise<void> {
    await b.flush("c", [{ id: "y", vector: vec(2) }]);
    expect((await b.get("c", "x"))?.vector).toEqual(vec(1));
    expect(await b.get("c", "ghost")).toBeUndefined();
    expect(await b.count("c")).toBe(2);
    const restarted = await node("c");
    expect((await restarted.get("c", "x"))?.vector).toEqual(vec(1));
    expect(await restarted.has("c", "ghost")).toBe(false);
    expect(await restarted.count("c")).toBe(2);
  }

  it("a stale flush staged before the takeover fails with StaleEpoch at its commit: the new owner removed its staging", async () => {
    const { b, stale } = await raceTakeover(gatedMoves);
    expect(stale).toBeInstanceOf(EngineError);
    expect((stale as EngineError).kind).toBe("StaleEpoch");
    const fs = env.tier.openFileSystem(env.tier.urls[0] as string);
    expect(await keysOf(fs, "c/_staging/")).toEqual([]);
    await fs.close();
    await expectNewOwnerExact(b);
    expect((await b.files("c"))?.garbage).toEqual([]);
  });

  it("a stale flush staged after the takeover (committed after the fence) never shadows the new owner's data, also after a restart", async () => {
    const { b, stale } = await raceTakeover(gatedWrites);
    expect(stale).toBe("committed");
    await expectNewOwnerExact(b);
    // Only the current owner deletes the stale file: a compaction of b removes it as garbage.
    const staleKey = `c/vectors/${flushFileName(2, 1)}`;
    expect((await b.files("c"))?.garbage.map((f) => f.key)).toEqual([staleKey]);
    const result = await b.compact("c");
    expect(result.garbageRemoved).toBe(1);
    expect(await b.get("c", "ghost")).toBeUndefined();
    expect((await b.get("c", "y"))?.vector).toEqual(vec(2));
  });

  it("a compaction by the fenced-out owner is refused with StaleEpoch and deletes nothing", async () => {
    const a = await node("a");
    await a.fence("c", 1);
    await a.flush("c", [{ id: "w", vector: vec(0) }]);
    const b = await takeover(a);
    const fs = env.tier.openFileSystem(env.tier.urls[0] as string);
    const before = await keysOf(fs, "c/vectors/");
    await expect(a.compact("c")).rejects.toMatchObject({ kind: "StaleEpoch" });
    expect(await keysOf(fs, "c/vectors/")).toEqual(before);
    expect((await b.get("c", "x"))?.vector).toEqual(vec(2));
    await fs.close();
  });

  it("refuses a fence below the collection's epoch, also from a node that only found it on storage", async () => {
    const a = await node("a");
    await takeover(a);
    const late = await node("late");
    await expect(late.fence("c", 1)).rejects.toMatchObject({ kind: "StaleEpoch", collection: "c" });
    expect(late.epochOf("c")).toBe(2);
  });

  it("names files with the epoch, and a new owner's compaction supersedes every older set", async () => {
    const a = await node("a");
    const b = await takeover(a);
    await b.flush("c", [{ id: "z", vector: vec(3) }]);
    const result = await b.compact("c");
    expect(result.outputs).toEqual([`c/vectors/${compactedFileName(1, 3, 1, 1, 1, 2)}`]);
    const restarted = await node("r");
    expect((await restarted.get("c", "x"))?.vector).toEqual(vec(2));
    expect(await restarted.count("c")).toBe(2);
  });

  it("with requireFence, writes to an unfenced collection are refused with NotFenced; reads work", async () => {
    const a = await node("a");
    await takeover(a);
    const reader = await ViperEngine.open({
      service: new AssignmentService({ components: { viper: { roots: env.tier.urls } } }),
      openFileSystem: (r) => env.tier.openFileSystem(r),
      nodeId: "reader",
      requireFence: true,
    });
    env.opened.push(reader);
    expect((await reader.get("c", "x"))?.vector).toEqual(vec(2));
    await expect(reader.flush("c", [{ id: "x", vector: vec(5) }])).rejects.toMatchObject({
      kind: "NotFenced",
    });
    await expect(reader.compact("c")).rejects.toMatchObject({ kind: "NotFenced" });
  });
});

describe("VIPER live set with epochs", () => {
  const entry = (name: string) => ({ key: `c/vectors/${name}`, size: 10 });
  const names = (files: readonly { name: string }[]) => files.map((f) => f.name);

  it("reads a lower epoch's files below the higher epoch's marker and ignores those reaching it", () => {
    const set = liveSet([
      entry(flushFileName(1, 1)),
      entry(flushFileName(2, 1)),
      entry(fenceMarkerFileName(2, 3)),
      entry(flushFileName(3, 1)), // a stale owner's flush after the fence
      entry(flushFileName(4, 2)),
    ]);
    expect(names(set.live)).toEqual([flushFileName(1, 1), flushFileName(2, 1), flushFileName(4, 2)]);
    expect(names(set.garbage)).toEqual([flushFileName(3, 1)]);
    expect(set.epoch).toBe(2);
    expect(set.nextSequence).toBe(5);
    expect(set.foreign).toEqual([]);
  });

  it("ignores a stale compaction whose range reaches the higher epoch, keeps one below it", () => {
    const set = liveSet([
      entry(flushFileName(1, 1)),
      entry(flushFileName(2, 1)),
      entry(fenceMarkerFileName(2, 3)),
      entry(compactedFileName(1, 3, 1, 1, 1, 1)),
      entry(flushFileName(3, 2)),
    ]);
    expect(names(set.live)).toEqual([flushFileName(1, 1), flushFileName(2, 1), flushFileName(3, 2)]);
    const below = liveSet([
      entry(flushFileName(1, 1)),
      entry(flushFileName(2, 1)),
      entry(fenceMarkerFileName(2, 3)),
      entry(compactedFileName(1, 2, 1, 1, 1, 1)),
      entry(flushFileName(3, 2)),
    ]);
    expect(names(below.live)).toEqual([compactedFileName(1, 2, 1, 1, 1, 1), flushFileName(3, 2)]);
  });

  it("a higher epoch's set supersedes a lower epoch's set it covers, whatever their generations", () => {
    const set = liveSet([
      entry(compactedFileName(1, 4, 5, 1, 1, 1)),
      entry(fenceMarkerFileName(2, 5)),
      entry(compactedFileName(1, 4, 1, 1, 1, 2)),
    ]);
    expect(names(set.live)).toEqual([compactedFileName(1, 4, 1, 1, 1, 2)]);
    expect(names(set.garbage)).toEqual([compactedFileName(1, 4, 5, 1, 1, 1)]);
  });

  it("names without an epoch are epoch 0, as before", () => {
    const set = liveSet([entry(flushFileName(1)), entry(flushFileName(2))]);
    expect(names(set.live)).toEqual([flushFileName(1), flushFileName(2)]);
    expect(set.epoch).toBe(0);
    expect(flushFileName(7)).toBe("part-0000000000000007.parquet");
    expect(flushFileName(7, 3)).toBe("part-0000000000000007-e0000000003.parquet");
  });
});
