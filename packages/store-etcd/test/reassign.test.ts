import type { CollectionId } from "@proximadb/core";
import { afterAll, describe, expect, inject, it } from "vitest";
import { EtcdAssignmentStore } from "../src/index.js";
import { eventually } from "./helpers/cluster.js";

const endpoint = inject("etcdEndpoint");
const id = (s: string) => s as CollectionId;
const [A, B, C] = ["file:///mnt/a/viper", "file:///mnt/b/viper", "file:///mnt/c/viper"] as const;
let seq = 0;
const cluster = () => `reassign-${process.pid}-${Date.now()}-${seq++}`;
const opened: EtcdAssignmentStore[] = [];
function open(name: string): EtcdAssignmentStore {
  const store = new EtcdAssignmentStore({
    hosts: endpoint,
    cluster: name,
    dialTimeoutMs: 1000,
    callTimeoutMs: 1000,
  });
  opened.push(store);
  return store;
}
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

describe("EtcdAssignmentStore.reassign (the commit of a move)", () => {
  it("moves an entry from its root to another, and another node sees the new root", async () => {
    const name = cluster();
    const store = open(name);
    const peer = open(name);
    await store.putIfAbsent({ collection: id("c"), component: "viper", url: A, assignedAt: 7 });
    const r = await store.reassign("viper", id("c"), A, B);
    expect(r).toEqual({
      moved: true,
      assignment: { collection: "c", component: "viper", url: B, assignedAt: 7 },
    });
    expect((await store.get("viper", id("c")))?.url).toBe(B);
    const seen = await eventually(
      () => peer.get("viper", id("c")),
      (a) => a?.url === B,
      5000,
    );
    expect(seen?.url).toBe(B);
  });

  it("changes nothing when the entry names another root than `from`", async () => {
    const store = open(cluster());
    await store.putIfAbsent({ collection: id("c"), component: "viper", url: A, assignedAt: 7 });
    const r = await store.reassign("viper", id("c"), C, B);
    expect(r.moved).toBe(false);
    expect(r.assignment?.url).toBe(A);
    expect((await store.get("viper", id("c")))?.url).toBe(A);
  });

  it("lets exactly one of two concurrent moves from the same root win", async () => {
    const name = cluster();
    const one = open(name);
    const two = open(name);
    await one.putIfAbsent({ collection: id("c"), component: "viper", url: A, assignedAt: 7 });
    await two.start();
    const [x, y] = await Promise.all([
      one.reassign("viper", id("c"), A, B),
      two.reassign("viper", id("c"), A, C),
    ]);
    expect([x.moved, y.moved].filter(Boolean)).toHaveLength(1);
    const winner = x.moved ? B : C;
    expect(x.assignment?.url).toBe(winner);
    expect(y.assignment?.url).toBe(winner);
  });
});
