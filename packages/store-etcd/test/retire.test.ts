import { Etcd3 } from "etcd3";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { rankNodes } from "../src/index.js";
import { type TestNode, eventually, newCluster, startNode, stopAll } from "./helpers/cluster.js";

// Issue #15: a dropped collection's owner key does not stay in etcd; its epoch counter does, as the
// floor of a re-create (a stale writer of the dropped collection never holds an epoch as high).
const endpoint = inject("etcdEndpoint");
const raw = new Etcd3({ hosts: endpoint });
afterEach(() => stopAll());
afterAll(() => raw.close());

async function nodes(cluster: string, names: string[]): Promise<TestNode[]> {
  const started = await Promise.all(
    names.map((n) => startNode(endpoint, cluster, n, { leaseTtlMs: 30_000 })),
  );
  for (const node of started)
    await eventually(
      () => node.membership.memberIds().length,
      (k) => k === names.length,
    );
  return started;
}

const ownerAt = (cluster: string, c: string) => raw.get(`/proximadb/${cluster}/owners/${c}`).string();
const epochAt = async (cluster: string, c: string) => {
  const v = await raw.get(`/proximadb/${cluster}/epochs/${c}`).string();
  return v === null ? null : JSON.parse(v);
};

/** A released collection taken over by `by`: proof that the takeovers ran since. */
async function takenOverBy(by: TestNode, from: TestNode, c: string): Promise<void> {
  await from.ownership.release(c);
  await eventually(
    () => by.ownership.owned().get(c as never),
    (e) => e !== undefined,
  );
}

describe("Ownership.retire (after a drop)", () => {
  it("deletes the owner key, keeps the epoch marked dropped, and no node takes the collection over", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"]);
    await a!.ownership.claim("orders");
    await a!.ownership.claim("sync");
    expect(await a!.ownership.retire("orders")).toBe(true);
    expect(a!.ownership.isOwner("orders", 1)).toBe(false);
    expect(a!.events.lost).toEqual([{ collection: "orders", epoch: 1, reason: "Released" }]);
    expect(await ownerAt(cluster, "orders")).toBeNull();
    expect(await epochAt(cluster, "orders")).toEqual({ v: 1, epoch: 1, dropped: true });
    // A released sibling is taken over (the takeovers ran); the dropped one is not.
    await takenOverBy(b!, a!, "sync");
    expect(await ownerAt(cluster, "orders")).toBeNull();
    expect(b!.ownership.owner("orders")).toBeUndefined();
    // A node that starts after the drop does not take it over either.
    const [c] = await Promise.all([startNode(endpoint, cluster, "node-c", { leaseTtlMs: 30_000 })]);
    await eventually(
      () => c!.membership.memberIds().length,
      (k) => k === 3,
    );
    await b!.ownership.claim("sync2");
    const next = rankNodes("sync2", ["node-a", "node-c"])[0] === "node-c" ? c! : a!;
    await takenOverBy(next, b!, "sync2");
    expect(await ownerAt(cluster, "orders")).toBeNull();
  });

  it("a re-create claims above the dropped epoch, on any node", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"]);
    await a!.ownership.claim("orders");
    expect(await a!.ownership.retire("orders")).toBe(true);
    expect(await b!.ownership.claim("orders")).toEqual({ acquired: true, epoch: 2 });
    expect(await epochAt(cluster, "orders")).toEqual({ v: 1, epoch: 2 });
    expect(JSON.parse((await ownerAt(cluster, "orders")) as string)).toMatchObject({
      node: "node-b",
      epoch: 2,
    });
    expect(await b!.ownership.retire("orders")).toBe(true);
    expect(await a!.ownership.claim("orders")).toEqual({ acquired: true, epoch: 3 });
  });

  it("retire() of a collection this node does not hold returns false and writes nothing", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"]);
    await b!.ownership.claim("orders");
    expect(await a!.ownership.retire("orders")).toBe(false);
    expect(JSON.parse((await ownerAt(cluster, "orders")) as string)).toMatchObject({
      node: "node-b",
      epoch: 1,
    });
    expect(await epochAt(cluster, "orders")).toEqual({ v: 1, epoch: 1 });
  });
});
