import { InvalidArgumentError } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import {
  type EngineBase,
  type EngineBaseOptions,
  EngineError,
  epochCutoffs,
  epochSuffix,
  fenceMarkerName,
  heartbeatKey,
  parseFenceMarker,
} from "../src/index.js";
import { HOUR, openViperBase } from "./helpers.js";

describe("epoch helpers", () => {
  it("gives each epoch the lowest start of any higher epoch as its cut-off", () => {
    const cut = epochCutoffs([
      { epoch: 1, first: 1 },
      { epoch: 2, first: 10 },
      { epoch: 3, first: 7 },
      { epoch: 2, first: 12 },
    ]);
    expect(cut(1)).toBe(7);
    expect(cut(2)).toBe(7);
    expect(cut(3)).toBe(Number.POSITIVE_INFINITY);
    expect(cut(0)).toBe(1);
  });

  it("names epoch 0 without a suffix and parses the markers it names", () => {
    expect(epochSuffix(0)).toBe("");
    expect(epochSuffix(12)).toBe("-e0000000012");
    const name = fenceMarkerName("x-", 4, 99, 8);
    expect(name).toBe("x-fence-e0000000004-00000099");
    expect(parseFenceMarker("x-", name)).toEqual({ epoch: 4, first: 99 });
    expect(parseFenceMarker("y-", name)).toBeUndefined();
    expect(parseFenceMarker("x-", "x-fence-e0000000000-1")).toBeUndefined();
  });
});

describeOnBackends("EngineBase fencing", ["memory", "local"], (backend) => {
  const env = rootsPerTest<EngineBase>(backend, "disk", 1);

  function open(nodeId: string, extra: Partial<EngineBaseOptions> = {}): Promise<EngineBase> {
    return openViperBase(env, { nodeId, ...extra });
  }

  it("records the fenced epoch, accepts the same or a higher one, refuses a lower one with StaleEpoch", async () => {
    const base = await open("a");
    expect(base.epochOf("c")).toBe(0);
    await base.fence("c", 2);
    await base.fence("c", 2);
    expect(base.epochOf("c")).toBe(2);
    const err = await base.fence("c", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ kind: "StaleEpoch", collection: "c", code: "INVALID_ARGUMENT" });
    expect(base.epochOf("c")).toBe(2);
    await base.fence("c", 5);
    expect(base.epochOf("c")).toBe(5);
  });

  it("refuses a fence below an epoch found on storage", async () => {
    const base = await open("a");
    base.observeEpoch("c" as never, 4);
    expect(base.epochOf("c")).toBe(4);
    await expect(base.fence("c", 3)).rejects.toMatchObject({ kind: "StaleEpoch" });
    await base.fence("c", 4);
    expect(() => base.assertNotFencedOut("c" as never, 4)).not.toThrow();
    expect(() => base.assertNotFencedOut("c" as never, 5)).toThrow(EngineError);
  });

  it("refuses an epoch that is not a positive safe integer", async () => {
    const base = await open("a");
    for (const bad of [0, -3, 2.5, Number.POSITIVE_INFINITY, "2" as unknown as number]) {
      await expect(base.fence("c", bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });

  it("with requireFence, a collection may be modified only once fenced here", async () => {
    const base = await open("a", { requireFence: true });
    expect(base.mayModify("c" as never)).toBe(false);
    expect(() => base.assertMayModify("c" as never)).toThrow(expect.objectContaining({ kind: "NotFenced" }));
    await base.fence("c", 1);
    expect(base.mayModify("c" as never)).toBe(true);
    const plain = await open("b");
    expect(plain.mayModify("c" as never)).toBe(true);
  });

  it("with requireFence, never removes another writer's staging at open, however old; its own it does", async () => {
    const other = "orders/_staging/node-b/0000000001-flush-3";
    const own = "orders/_staging/node-a/0000000001-flush-1";
    const beat = heartbeatKey("node-b");
    await env.tier.write(env.tier.urls[0] as string, { [other]: "x", [own]: "y", [beat]: "{}" });
    await env.tier.touch(env.tier.urls[0] as string, other, Date.now() - 2 * HOUR);
    await env.tier.touch(env.tier.urls[0] as string, beat, Date.now() - 2 * HOUR);
    const a = await open("node-a", { requireFence: true });
    expect(a.cleanup.removed).toEqual([own]);
    expect(a.cleanup.kept).toEqual([other]);
  });
});
