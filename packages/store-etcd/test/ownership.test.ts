import { InvalidCollectionIdError, StoreUnavailableError } from "@proximadb/core";
import { Etcd3 } from "etcd3";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import {
  EtcdAssignmentStore,
  EtcdStoreError,
  Membership,
  Ownership,
  connectEtcd,
  rankNodes,
} from "../src/index.js";
import { type TestNode, eventually, newCluster, startNode, stopAll } from "./helpers/cluster.js";

const endpoint = inject("etcdEndpoint");
const raw = new Etcd3({ hosts: endpoint });
afterEach(() => stopAll());
afterAll(() => raw.close());

const ids = (n: number, tag = "c") =>
  Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(3, "0")}`);

async function nodes(cluster: string, names: string[], options = {}): Promise<TestNode[]> {
  const started = await Promise.all(names.map((n) => startNode(endpoint, cluster, n, options)));
  // Every node sees every other before the test starts.
  for (const node of started)
    await eventually(
      () => node.membership.memberIds().length,
      (k) => k === names.length,
    );
  return started;
}

async function ownerAtEtcd(cluster: string, c: string): Promise<{ node: string; epoch: number } | null> {
  const v = await raw.get(`/proximadb/${cluster}/owners/${c}`).string();
  if (v === null) return null;
  const { node, epoch } = JSON.parse(v);
  return { node, epoch };
}

async function epochAtEtcd(cluster: string, c: string): Promise<number | null> {
  const v = await raw.get(`/proximadb/${cluster}/epochs/${c}`).string();
  return v === null ? null : JSON.parse(v).epoch;
}

/** Waits until every collection is held by some node at `epoch`; returns collection → holder. */
async function holders(all: TestNode[], collections: string[], epoch: number): Promise<Map<string, string>> {
  const read = () => {
    const m = new Map<string, string>();
    for (const n of all) for (const [c, e] of n.ownership.owned()) if (e === epoch) m.set(c, n.id);
    return m;
  };
  return eventually(read, (m) => collections.every((c) => m.has(c)));
}

describe("Ownership: claims", () => {
  it("stores {v,node,epoch} bound to the owner's lease and a lease-less epoch {v,epoch}", async () => {
    const cluster = newCluster();
    const [a] = await nodes(cluster, ["node-a"]);
    expect(await a!.ownership.claim("orders")).toEqual({ acquired: true, epoch: 1 });
    const owner = (await raw.get(`/proximadb/${cluster}/owners/orders`).exec()).kvs[0];
    expect(JSON.parse(owner?.value.toString() ?? "")).toEqual({ v: 1, node: "node-a", epoch: 1 });
    expect(String(owner?.lease)).toBe(a!.membership.lease);
    const epoch = (await raw.get(`/proximadb/${cluster}/epochs/orders`).exec()).kvs[0];
    expect(JSON.parse(epoch?.value.toString() ?? "")).toEqual({ v: 1, epoch: 1 });
    expect(String(epoch?.lease)).toBe("0");
    expect(a!.ownership.isOwner("orders", 1)).toBe(true);
    expect(a!.ownership.isOwner("orders", 2)).toBe(false);
    expect(a!.events.acquired).toEqual([{ collection: "orders", epoch: 1, how: "Claimed" }]);
  });

  it("exactly one of five nodes claiming the same 20 collections at once acquires each; the others learn who", async () => {
    const cluster = newCluster();
    const all = await nodes(cluster, ["n1", "n2", "n3", "n4", "n5"]);
    const collections = ids(20);
    const results = await Promise.all(
      all.map((n) => Promise.all(collections.map((c) => n.ownership.claim(c)))),
    );
    for (const [i, c] of collections.entries()) {
      const winners = all.filter((_, k) => results[k]![i]!.acquired).map((n) => n.id);
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      expect(await ownerAtEtcd(cluster, c)).toEqual({ node: winner, epoch: 1 });
      for (const [k, n] of all.entries()) {
        if (n.id === winner) continue;
        expect(results[k]![i]).toEqual({ acquired: false, owner: { node: winner, epoch: 1 } });
        expect(n.ownership.isOwner(c, 1)).toBe(false);
      }
    }
    expect(all.reduce((s, n) => s + n.events.acquired.length, 0)).toBe(20);
  });

  it("a claim of a collection already held returns its epoch without a second acquisition", async () => {
    const cluster = newCluster();
    const [a] = await nodes(cluster, ["node-a"]);
    await a!.ownership.claim("orders");
    expect(await a!.ownership.claim("orders")).toEqual({ acquired: true, epoch: 1 });
    expect(a!.events.acquired).toHaveLength(1);
    expect(await epochAtEtcd(cluster, "orders")).toBe(1);
  });

  it("a bad collection id is InvalidCollectionIdError and writes nothing", async () => {
    const cluster = newCluster();
    const [a] = await nodes(cluster, ["node-a"]);
    await expect(a!.ownership.claim("../etc")).rejects.toBeInstanceOf(InvalidCollectionIdError);
    await expect(a!.ownership.release("a/b")).rejects.toBeInstanceOf(InvalidCollectionIdError);
    await expect(a!.ownership.enroll(["ok", ""])).rejects.toBeInstanceOf(InvalidCollectionIdError);
    const keys = await raw.getAll().prefix(`/proximadb/${cluster}/`).keys();
    expect(keys).toEqual([`/proximadb/${cluster}/nodes/node-a`]);
  });

  it("owner() and owners() follow the watch; owned() lists only what this node holds", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"]);
    await a!.ownership.claim("orders");
    await b!.ownership.claim("users");
    await eventually(
      () => a!.ownership.owner("users"),
      (o) => o !== undefined,
    );
    expect(a!.ownership.owner("users")).toEqual({ node: "node-b", epoch: 1 });
    expect(a!.ownership.owner("nothing")).toBeUndefined();
    expect(Object.fromEntries(a!.ownership.owners())).toEqual({
      orders: { node: "node-a", epoch: 1 },
      users: { node: "node-b", epoch: 1 },
    });
    expect(Object.fromEntries(a!.ownership.owned())).toEqual({ orders: 1 });
  });

  it("an unreadable epoch makes a claim fail with EtcdStoreError InvalidValue; an unreadable owner is never taken over", async () => {
    const cluster = newCluster();
    await raw.put(`/proximadb/${cluster}/epochs/bad-epoch`).value("{oops");
    await raw.put(`/proximadb/${cluster}/epochs/bad-owner`).value(JSON.stringify({ v: 1, epoch: 3 }));
    await raw.put(`/proximadb/${cluster}/owners/bad-owner`).value(JSON.stringify({ v: 9 }));
    const [a] = await nodes(cluster, ["node-a"]);
    await expect(a!.ownership.claim("bad-epoch")).rejects.toMatchObject({
      constructor: EtcdStoreError,
      kind: "InvalidValue",
    });
    expect(await a!.ownership.claim("bad-owner")).toEqual({ acquired: false, owner: undefined });
    expect(await epochAtEtcd(cluster, "bad-owner")).toBe(3);
    expect(a!.ownership.owned().size).toBe(0);
  });
});

describe("Ownership: takeover", () => {
  it("after the owner's lease expires, each collection goes to its rendezvous winner among the survivors, epoch raised", async () => {
    const cluster = newCluster();
    const [a, b, c, d] = await nodes(cluster, ["node-a", "node-b", "node-c", "node-d"]);
    const collections = ids(8);
    for (const col of collections) await a!.ownership.claim(col);
    await a!.crash();
    const got = await holders([b!, c!, d!], collections, 2);
    for (const col of collections) {
      expect(got.get(col)).toBe(rankNodes(col, ["node-b", "node-c", "node-d"])[0]);
      expect(await ownerAtEtcd(cluster, col)).toEqual({ node: got.get(col), epoch: 2 });
      expect(await epochAtEtcd(cluster, col)).toBe(2);
    }
    for (const n of [b!, c!, d!]) for (const e of n.events.acquired) expect(e.how).toBe("TakenOver");
  });

  it("30 collections of a dead node are spread over the 2 survivors within 15 ± 6 each (binomial 30, ½: 2.2σ)", async () => {
    const cluster = newCluster();
    const [a, b, c] = await nodes(cluster, ["node-a", "node-b", "node-c"]);
    const collections = ids(30, "spread-");
    await Promise.all(collections.map((col) => a!.ownership.claim(col)));
    await a!.crash();
    const got = await holders([b!, c!], collections, 2);
    const onB = [...got.values()].filter((n) => n === "node-b").length;
    expect(onB + [...got.values()].filter((n) => n === "node-c").length).toBe(30);
    expect(onB).toBeGreaterThanOrEqual(9);
    expect(onB).toBeLessThanOrEqual(21);
  });

  it("when the rendezvous winner dies with the owner, the next ranked takes over", async () => {
    const cluster = newCluster();
    const [a, b, c] = await nodes(cluster, ["node-a", "node-b", "node-c"]);
    // A collection whose winner among {b, c} is b.
    const col = ids(50).find((x) => rankNodes(x, ["node-b", "node-c"])[0] === "node-b")!;
    await a!.ownership.claim(col);
    await Promise.all([a!.crash(), b!.crash()]);
    const got = await holders([c!], [col], 2);
    expect(got.get(col)).toBe("node-c");
  });

  it("when the rendezvous winner is alive but does not take over, the next ranked does after its fallback delay", async () => {
    const cluster = newCluster();
    const [a, c] = await nodes(cluster, ["node-a", "node-c"], { takeoverFallbackMs: 300 });
    // node-b registers but runs no Ownership (an old version, a stuck process).
    const b = await startNode(endpoint, cluster, "node-b", { start: false });
    await b.membership.start();
    await eventually(
      () => c!.membership.memberIds().length,
      (k) => k === 3,
    );
    const col = ids(50).find((x) => rankNodes(x, ["node-b", "node-c"])[0] === "node-b")!;
    await a!.ownership.claim(col);
    await a!.crash();
    const got = await holders([c!], [col], 2);
    expect(got.get(col)).toBe("node-c");
  });

  it("collections recorded with enroll() get their rendezvous winner as owner at epoch 1", async () => {
    const cluster = newCluster();
    const all = await nodes(cluster, ["node-a", "node-b", "node-c"]);
    const collections = ids(9, "known-");
    expect(await all[0]!.ownership.enroll(collections)).toBe(9);
    expect(await all[0]!.ownership.enroll(collections)).toBe(0);
    const got = await holders(all, collections, 1);
    for (const col of collections)
      expect(got.get(col)).toBe(rankNodes(col, ["node-a", "node-b", "node-c"])[0]);
  });

  it("a node restarted under its id after a crash takes only what is free: a live peer's collections stay the peer's", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"]);
    const theirs = ids(4, "b-");
    const mine = ids(4, "a-");
    for (const col of theirs) await b!.ownership.claim(col);
    for (const col of mine) await a!.ownership.claim(col);
    await a!.crash();
    const again = await startNode(endpoint, cluster, "node-a");
    // a's old collections: exactly one new owner each, at epoch 2.
    const got = await holders([again, b!], mine, 2);
    for (const col of mine) expect(await ownerAtEtcd(cluster, col)).toEqual({ node: got.get(col), epoch: 2 });
    // b's collections were never free: a restarted node does not get them.
    for (const col of theirs) {
      expect([...again.ownership.owned().keys()]).not.toContain(col);
      expect(await again.ownership.claim(col)).toEqual({
        acquired: false,
        owner: { node: "node-b", epoch: 1 },
      });
    }
    expect(await again.ownership.claim("fresh")).toEqual({ acquired: true, epoch: 1 });
  });
});

describe("Ownership: graceful handoff", () => {
  it("release() makes the best other node take over at once, while the releaser's lease still lives", async () => {
    const cluster = newCluster();
    const [a, b, c] = await nodes(cluster, ["node-a", "node-b", "node-c"], { leaseTtlMs: 30_000 });
    await a!.ownership.claim("orders");
    expect(await a!.ownership.release("orders")).toBe(true);
    expect(a!.ownership.isOwner("orders", 1)).toBe(false);
    expect(a!.events.lost).toEqual([{ collection: "orders", epoch: 1, reason: "Released" }]);
    const winner = rankNodes("orders", ["node-b", "node-c"])[0];
    const got = await holders([b!, c!], ["orders"], 2);
    expect(got.get("orders")).toBe(winner);
    // A 30 s TTL, and node-a is still registered: nothing expired.
    expect(await raw.get(`/proximadb/${cluster}/nodes/node-a`).string()).not.toBeNull();
    expect(a!.membership.leaseValid()).toBe(true);
    expect(a!.ownership.owned().size).toBe(0);
  });

  it("releaseAll() hands every collection to the others, takes nothing back, and refuses new claims", async () => {
    const cluster = newCluster();
    const [a, b, c] = await nodes(cluster, ["node-a", "node-b", "node-c"], { leaseTtlMs: 30_000 });
    const collections = ids(6);
    for (const col of collections) await a!.ownership.claim(col);
    expect(await a!.ownership.releaseAll()).toBe(6);
    await holders([b!, c!], collections, 2);
    expect(a!.ownership.owned().size).toBe(0);
    await expect(a!.ownership.claim("later")).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it("release() of a collection this node does not hold returns false and deletes nothing", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"]);
    await b!.ownership.claim("orders");
    expect(await a!.ownership.release("orders")).toBe(false);
    expect(await ownerAtEtcd(cluster, "orders")).toEqual({ node: "node-b", epoch: 1 });
  });

  it("the epoch outlives the owner key: hand back and forth gives 1, 2, 3", async () => {
    const cluster = newCluster();
    const [a, b] = await nodes(cluster, ["node-a", "node-b"], { leaseTtlMs: 30_000 });
    await a!.ownership.claim("orders");
    await a!.ownership.release("orders");
    await holders([b!], ["orders"], 2);
    await b!.ownership.release("orders");
    await holders([a!], ["orders"], 3);
    expect(await epochAtEtcd(cluster, "orders")).toBe(3);
    expect(await ownerAtEtcd(cluster, "orders")).toEqual({ node: "node-a", epoch: 3 });
  });

  it("alone in the cluster, a released collection comes back with a raised epoch", async () => {
    const cluster = newCluster();
    const [a] = await nodes(cluster, ["node-a"]);
    await a!.ownership.claim("orders");
    await a!.ownership.release("orders");
    await holders([a!], ["orders"], 2);
  });

  it("shares one client and one cluster prefix with the assignment store, which ignores the ownership keys", async () => {
    const cluster = newCluster();
    const client = connectEtcd({ hosts: endpoint });
    try {
      const store = new EtcdAssignmentStore({ client, cluster });
      const membership = new Membership({ client, cluster, nodeId: "node-a", url: "http://127.0.0.1:7700" });
      const ownership = new Ownership({ membership });
      await ownership.start();
      await store.start();
      expect(await ownership.claim("orders")).toEqual({ acquired: true, epoch: 1 });
      await store.putIfAbsent({
        collection: "orders" as never,
        component: "wal",
        url: "file:///a/wal",
        assignedAt: 1,
      });
      await ownership.release("orders");
      await ownership.claim("orders");
      expect((await store.list()).map((a) => a.collection)).toEqual(["orders"]);
      expect(store.metrics.invalidValues).toBe(0);
      await ownership.close();
      await membership.close();
      await store.close();
    } finally {
      client.close();
    }
  });

  it("after close(), isOwner is false and calls fail with ClosedError", async () => {
    const cluster = newCluster();
    const [a] = await nodes(cluster, ["node-a"]);
    await a!.ownership.claim("orders");
    await a!.ownership.close();
    expect(a!.ownership.isOwner("orders", 1)).toBe(false);
    await expect(a!.ownership.claim("x")).rejects.toMatchObject({ code: "CLOSED" });
    await a!.membership.close();
    const fresh = new Ownership({ membership: a!.membership });
    await expect(fresh.claim("x")).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("a new Ownership on a live membership starts on first use and takes back the keys bound to its lease, epoch raised", async () => {
    const cluster = newCluster();
    const [a] = await nodes(cluster, ["node-a"]);
    await a!.ownership.claim("orders");
    await a!.ownership.close(); // the owner key stays, bound to the lease
    const fresh = new Ownership({ membership: a!.membership });
    const acquired: string[] = [];
    fresh.on("acquired", (e) => acquired.push(`${e.collection}@${e.epoch}:${e.how}`));
    expect(await fresh.claim("users")).toEqual({ acquired: true, epoch: 1 });
    await eventually(
      () => fresh.owned().size,
      (n) => n === 2,
    );
    expect(Object.fromEntries(fresh.owned())).toEqual({ orders: 2, users: 1 });
    expect(acquired.sort()).toEqual(["orders@2:Restored", "users@1:Claimed"]);
    await fresh.close();
  });
});
