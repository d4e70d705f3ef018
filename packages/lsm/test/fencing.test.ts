import type { FileSystem } from "@proximadb/core";
import { EngineError } from "@proximadb/engine";
import { gatedMoves, gatedWrites } from "@proximadb/testing";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import type { LsmEngine, LsmEngineOptions } from "../src/index.js";
import { openEngine, text } from "./helpers.js";

describeOnBackends("LSM fencing", ["memory", "local"], (backend) => {
  const env = rootsPerTest<LsmEngine>(backend, "lsm", 1, {
    close: (e) => e.close({ flush: false }),
    ignoreCloseErrors: true,
  });

  async function node(
    nodeId: string,
    wrap?: (fs: FileSystem) => FileSystem,
    extra: Partial<LsmEngineOptions> = {},
  ): Promise<LsmEngine> {
    const e = await openEngine(
      wrap ? { urls: env.tier.urls, openFileSystem: (r) => wrap(env.tier.openFileSystem(r)) } : env.tier,
      { nodeId, ...extra },
    );
    env.opened.push(e);
    return e;
  }

  async function listed(prefix: string): Promise<string[]> {
    const fs = env.tier.openFileSystem(env.tier.urls[0] as string);
    try {
      const out: string[] = [];
      for await (const page of fs.list(prefix)) for (const f of page.files) out.push(f.key);
      return out.sort();
    } finally {
      await fs.close();
    }
  }

  it("a flush by the fenced-out owner is refused with StaleEpoch and the newer value stays, also after a restart", async () => {
    const a = await node("a");
    await a.fence("c", 1);
    await a.put("c", "k", "one");
    await a.flush("c");
    const b = await node("b");
    await b.fence("c", 2);
    await b.put("c", "k", "two");
    await b.flush("c");
    await a.put("c", "k", "stale");
    const err = await a.flush("c").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).kind).toBe("StaleEpoch");
    expect(text(await b.get("c", "k"))).toBe("two");
    const restarted = await node("r");
    expect(text(await restarted.get("c", "k"))).toBe("two");
  });

  /**
   * a owns `c` at epoch 1 and flushes k=one, then starts a stale flush (k=stale, ghost) that `wrap` pauses
   * before it commits or before it stages; b fences `c` at epoch 2 meanwhile, and the stale flush resumes.
   * With `markerPaused`, b's fence waits before it writes its marker (it removed the staging it found)
   * until the stale flush is done: a stale flush staged after that removal then passes its own fence check.
   */
  async function raceTakeover(
    wrap: (fs: FileSystem, gate: { shut?: Promise<void> }) => FileSystem,
    markerPaused = false,
  ): Promise<{ b: LsmEngine; stale: unknown }> {
    const gate: { shut?: Promise<void> } = {};
    const a = await node("a", (fs) => wrap(fs, gate));
    await a.fence("c", 1);
    await a.put("c", "k", "one");
    await a.flush("c");
    let release: () => void = () => undefined;
    gate.shut = new Promise((r) => {
      release = r;
    });
    await a.put("c", "k", "stale");
    await a.put("c", "ghost", "boo");
    const stale = a.flush("c").then(
      () => "committed",
      (e: unknown) => e,
    );
    await new Promise((r) => setTimeout(r, 50));
    const bGate: { shut?: Promise<void> } = {};
    let releaseB: () => void = () => undefined;
    if (markerPaused)
      bGate.shut = new Promise((r) => {
        releaseB = r;
      });
    const b = await node("b", (fs) => gatedWrites(fs, bGate, (k) => k.includes("level-fence-")), {
      staleStagingMs: 3_600_000, // a's staging is in flight
    });
    const fencing = b.fence("c", 2);
    if (markerPaused) await new Promise((r) => setTimeout(r, 50));
    else await fencing;
    release();
    const outcome = await stale;
    releaseB();
    await fencing;
    return { b, stale: outcome };
  }

  /** b and a restarted node read b's data exactly and nothing of the stale flush. */
  async function expectNewOwnerExact(b: LsmEngine): Promise<void> {
    await b.put("c", "k", "two");
    await b.flush("c");
    expect(text(await b.get("c", "k"))).toBe("two");
    expect(await b.get("c", "ghost")).toBeUndefined();
    await b.close();
    const restarted = await node("r");
    expect(text(await restarted.get("c", "k"))).toBe("two");
    expect(await restarted.get("c", "ghost")).toBeUndefined();
  }

  it("a stale flush staged before the takeover fails with StaleEpoch at its commit: the new owner removed its staging", async () => {
    const { b, stale } = await raceTakeover(gatedMoves);
    expect(stale).toBeInstanceOf(EngineError);
    expect((stale as EngineError).kind).toBe("StaleEpoch");
    expect(await listed("c/_staging/")).toEqual([]);
    expect(
      (await listed("c/level-0/")).some((k) => k.endsWith("-e0000000001.sst") && k.includes("00000002")),
    ).toBe(false);
    await expectNewOwnerExact(b);
  });

  it("a stale table staged after the new owner removed the staging (committed before its marker) is never read and only the owner deletes it", async () => {
    const { b, stale } = await raceTakeover(gatedWrites, true);
    expect(stale).toBe("committed");
    expect(
      (await listed("c/level-0/")).some((k) => k.endsWith("-e0000000001.sst") && k.includes("00000002")),
    ).toBe(true);
    await expectNewOwnerExact(b);
    // The restart (not fenced out) deleted the stale table at load.
    expect(await listed("c/level-0/")).not.toContain("c/level-0/00000002-e0000000001.sst");
  });

  it("a re-fence at a higher epoch with no other owner in between keeps this node's unflushed writes", async () => {
    const a = await node("a");
    await a.fence("c", 1);
    await a.put("c", "k", "mine");
    await a.fence("c", 2);
    expect(text(await a.get("c", "k"))).toBe("mine");
    const restarted = await node("r");
    expect(text(await restarted.get("c", "k"))).toBe("mine");
  });

  it("a re-fence after another owner's epoch drops this node's stale unflushed writes and reads the owner's", async () => {
    const a = await node("a");
    await a.fence("c", 1);
    await a.put("c", "k", "stale");
    const b = await node("b");
    await b.fence("c", 2);
    await b.put("c", "k", "two");
    await b.flush("c");
    await a.fence("c", 3);
    expect(text(await a.get("c", "k"))).toBe("two");
    const restarted = await node("r");
    expect(text(await restarted.get("c", "k"))).toBe("two");
  });

  it("refuses a fence below the collection's epoch with StaleEpoch", async () => {
    const a = await node("a");
    await a.fence("c", 3);
    await a.put("c", "k", "v");
    await a.flush("c");
    const late = await node("late");
    await expect(late.fence("c", 2)).rejects.toMatchObject({ kind: "StaleEpoch", collection: "c" });
    expect(late.epochOf("c")).toBe(3);
    expect(text(await late.get("c", "k"))).toBe("v");
  });

  it("with requireFence, writes to an unfenced collection are refused with NotFenced; reads work", async () => {
    const a = await node("a");
    await a.put("c", "k", "v");
    await a.flush("c");
    const reader = await node("reader", undefined, { requireFence: true });
    expect(text(await reader.get("c", "k"))).toBe("v");
    await expect(reader.put("c", "k", "w")).rejects.toMatchObject({ kind: "NotFenced" });
    await reader.fence("c", 1);
    await reader.put("c", "k", "w");
    await reader.flush("c");
    expect(text(await reader.get("c", "k"))).toBe("w");
  });
});
