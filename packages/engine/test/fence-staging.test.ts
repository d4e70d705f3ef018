import { AssignmentService } from "@proximadb/core";
import { type RootSet, describeOnBackends } from "@proximadb/testing-backends";
import { afterEach, beforeEach, expect, it } from "vitest";
import { EngineBase, type EngineBaseOptions, EngineError } from "../src/index.js";

// Issue #15: "another writer's staging is abandoned when its owner key is gone". A fence is taken only
// by the node that holds the owner key at that epoch, so at a fence every other writer's staging is
// provably abandoned; a lost collection's own staging is this node's to drop.
describeOnBackends("EngineBase staging at a fence", ["memory", "local"], (backend) => {
  let tier: RootSet;
  let url: string;
  const opened: EngineBase[] = [];
  beforeEach(async () => {
    tier = await backend.roots("disk", 1);
    url = tier.urls[0] as string;
  });
  afterEach(async () => {
    for (const e of opened.splice(0)) await e.close();
  });

  /** A cluster-mode engine base of node `nodeId` on the tier (each with its own placement map). */
  const open = (nodeId: string, extra: Partial<EngineBaseOptions> = {}) =>
    EngineBase.open({
      ...{ component: "viper", nodeId, requireFence: true, ...extra },
      service: new AssignmentService({ components: { viper: { roots: tier.urls } } }),
      openFileSystem: (r) => tier.openFileSystem(r),
    }).then((engine) => {
      opened.push(engine);
      return engine;
    });

  const others = {
    "orders/_staging/node-b/0000000001-flush-3": "b", // the layout
    "orders/_staging/node-b/flush-3": "b-old", // an old-style name in an owner folder
    "orders/_staging/node-b/.0000000002-flush-4.tmp-1a2b": "b-tmp", // an adapter's temp file
    "orders/_staging/loose-file": "older layout", // outside any owner folder
  };
  it("removes every other writer's staging of the collection, durably, and keeps its own", async () => {
    await tier.write(url, { ...others, "orders/part-1": "data", "other/_staging/node-b/x": "b" });
    const a = await open("node-a");
    expect(await tier.keys(url, "orders/_staging/")).toHaveLength(4); // another writer's: kept at open
    const staged = await a.stage("orders", "flush-1"); // this node's own, in flight
    await staged.fs.write(staged.key, "a");
    await a.fence("orders", 3);
    expect(await tier.keys(url, "orders/")).toEqual([staged.key, "orders/part-1"].sort());
    // Only the fenced collection: another collection's staging is its owner's.
    expect(await tier.keys(url, "other/")).toEqual(["other/_staging/node-b/x"]);
    expect(await a.commit(staged, "part-2")).toBe("orders/part-2");
  });

  it("the same epoch again removes nothing; a higher epoch does", async () => {
    const a = await open("node-a");
    await a.place("orders");
    await a.fence("orders", 1);
    await tier.write(url, others);
    await a.fence("orders", 1);
    expect(await tier.keys(url, "orders/_staging/")).toHaveLength(4);
    await a.fence("orders", 2);
    expect(await tier.keys(url, "orders/_staging/")).toEqual([]);
  });

  it("a stale writer's commit after the new owner's fence fails with StaleEpoch and commits nothing", async () => {
    const a = await open("node-a");
    await a.fence("orders", 1);
    const staged = await a.stage("orders", "flush-7");
    await staged.fs.write(staged.key, "stale");
    const b = await open("node-b");
    await b.place("orders");
    await b.fence("orders", 2);
    expect(await tier.keys(url, "orders/_staging/")).toEqual([]);
    const err = await a.commit(staged, "part-7").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ kind: "StaleEpoch", collection: "orders" });
    expect(await tier.keys(url, "orders/")).toEqual([]);
  });

  it("relinquish removes this node's own staging of a lost collection and forgets its fence", async () => {
    await tier.write(url, others);
    const a = await open("node-a");
    await a.place("orders");
    await a.fence("orders", 4);
    expect(await tier.keys(url, "orders/_staging/")).toEqual([]);
    const staged = await a.stage("orders", "flush-1");
    await staged.fs.write(staged.key, "in flight");
    await tier.write(url, { "orders/_staging/node-b/0000000009-flush-9": "b, staged after the fence" });
    await a.relinquish("orders");
    expect(await tier.keys(url, "orders/_staging/")).toEqual(["orders/_staging/node-b/0000000009-flush-9"]);
    expect(a.mayModify("orders" as never)).toBe(false);
    await expect(a.commit(staged, "part-1")).rejects.toMatchObject({ kind: "StaleEpoch" });
    // The fenced epoch stays the floor of a later fence.
    expect(a.epochOf("orders")).toBe(4);
    await expect(a.fence("orders", 3)).rejects.toMatchObject({ kind: "StaleEpoch" });
    await a.fence("orders", 5);
    expect(a.mayModify("orders" as never)).toBe(true);
  });
});
