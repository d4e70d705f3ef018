import { StoreUnavailableError } from "@proximadb/core";
import { startEtcd } from "@proximadb/testing/emulators/etcd";
import { Etcd3 } from "etcd3";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { eventually, newCluster, startNode, stopAll } from "./helpers/cluster.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";

const endpoint = inject("etcdEndpoint");
const raw = new Etcd3({ hosts: endpoint });
afterEach(() => stopAll());
afterAll(() => raw.close());

const COLLECTIONS = ["c1", "c2", "c3"];

describe("Ownership under faults", () => {
  it("an owner cut off from etcd stops owning before etcd could expire its lease; after healing, its release and claim fail", async () => {
    const cluster = newCluster();
    const proxy = await startTcpProxy(endpoint);
    try {
      const a = await startNode(proxy.endpoint, cluster, "node-a");
      const b = await startNode(endpoint, cluster, "node-b");
      await eventually(
        () => b.membership.memberIds().length,
        (n) => n === 2,
      );
      for (const c of COLLECTIONS) expect(await a.ownership.claim(c)).toEqual({ acquired: true, epoch: 1 });
      // At the instant node-a's lease stops being confirmed: what does it answer, and what does etcd hold?
      let answers: boolean[] = [];
      let atEtcd: Promise<Array<string | null>> | undefined;
      a.membership.on("leaseLost", () => {
        answers = COLLECTIONS.map((c) => a.ownership.isOwner(c, 1));
        atEtcd = Promise.all(COLLECTIONS.map((c) => raw.get(`/proximadb/${cluster}/owners/${c}`).string()));
      });
      proxy.partition();
      await eventually(
        () => a.events.leaseLost.length,
        (n) => n > 0,
      );
      expect(answers).toEqual([false, false, false]);
      // etcd had not expired the lease yet: the owner keys were all still node-a's.
      expect((await atEtcd)?.map((v) => v && JSON.parse(v).node)).toEqual(["node-a", "node-a", "node-a"]);
      expect(a.events.lost.map((e) => [e.collection, e.reason])).toEqual(
        COLLECTIONS.map((c) => [c, "LeaseLost"]),
      );
      // The lease expires at etcd; node-b takes everything over with epoch 2.
      await eventually(
        () => COLLECTIONS.map((c) => b.ownership.owned().get(c as never)),
        (e) => e.every((x) => x === 2),
      );
      expect(COLLECTIONS.map((c) => a.ownership.isOwner(c, 1))).toEqual([false, false, false]);
      proxy.heal();
      // Its stale release deletes nothing; its claim finds node-b.
      expect(await a.ownership.release("c1")).toBe(false);
      await eventually(
        () => a.events.leaseRestored,
        (r) => r.length > 0,
      );
      expect(a.events.leaseRestored).toEqual([false]);
      expect(await a.ownership.claim("c2")).toEqual({ acquired: false, owner: { node: "node-b", epoch: 2 } });
      for (const c of COLLECTIONS) {
        const v = await raw.get(`/proximadb/${cluster}/owners/${c}`).string();
        expect(JSON.parse(v ?? "{}")).toEqual({ v: 1, node: "node-b", epoch: 2 });
      }
      expect(a.ownership.owned().size).toBe(0);
    } finally {
      proxy.heal();
      await proxy.close();
    }
  });

  it("etcd killed and restarted: calls fail with StoreUnavailableError; ownership is intact afterwards, epoch raised", async () => {
    const etcd = await startEtcd();
    try {
      const cluster = newCluster();
      const a = await startNode(etcd.endpoint, cluster, "node-a");
      const b = await startNode(etcd.endpoint, cluster, "node-b");
      await eventually(
        () => b.membership.memberIds().length,
        (n) => n === 2,
      );
      for (const c of ["c1", "c2"]) await a.ownership.claim(c);
      await b.ownership.claim("c3");
      await etcd.kill();
      const failure = await a.ownership.claim("c4").catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect(failure).toMatchObject({ code: "STORE_UNAVAILABLE", retryable: true });
      // Down past the lease deadline: nothing is owned any more, locally.
      await eventually(
        () => a.events.leaseLost.length + b.events.leaseLost.length,
        (n) => n === 2,
      );
      expect(a.ownership.isOwner("c1", 1)).toBe(false);
      expect(b.ownership.isOwner("c3", 1)).toBe(false);
      await expect(b.ownership.claim("c5")).rejects.toBeInstanceOf(StoreUnavailableError);
      await etcd.restart();
      // etcd extends every lease when it comes back: the same owners re-acquire with epoch 2.
      const ownedA = await eventually(
        () => Object.fromEntries(a.ownership.owned()),
        (o) => Object.keys(o).length === 2,
      );
      expect(ownedA).toEqual({ c1: 2, c2: 2 });
      await eventually(
        () => b.ownership.owned().get("c3" as never),
        (e) => e === 2,
      );
      expect(a.events.leaseRestored).toEqual([true]);
      expect(
        a.events.acquired
          .filter((e) => e.how === "Restored")
          .map((e) => e.collection)
          .sort(),
      ).toEqual(["c1", "c2"]);
      expect(a.ownership.isOwner("c1", 2)).toBe(true);
      await eventually(
        () => b.ownership.owner("c1"),
        (o) => o?.epoch === 2,
      );
      expect(b.ownership.owner("c1")).toEqual({ node: "node-a", epoch: 2 });
      // Work resumes.
      expect(await a.ownership.claim("c4")).toEqual({ acquired: true, epoch: 1 });
    } finally {
      await stopAll();
      await etcd.stop();
    }
  });
});
