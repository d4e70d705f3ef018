import { Etcd3 } from "etcd3";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { rankNodes } from "../src/index.js";
import { type ChildNode, spawnNode } from "./helpers/child.js";
import { eventually, newCluster, sleep, startNode, stopAll } from "./helpers/cluster.js";

const endpoint = inject("etcdEndpoint");
const raw = new Etcd3({ hosts: endpoint });
const children: ChildNode[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  await stopAll();
});
afterAll(() => raw.close());

const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

async function spawn(cluster: string, id: string, ttl = 2000): Promise<ChildNode> {
  const child = await spawnNode(endpoint, cluster, id, ttl);
  children.push(child);
  return child;
}

async function ownersAtEtcd(cluster: string): Promise<Record<string, { node: string; epoch: number }>> {
  const all = await raw.getAll().prefix(`/proximadb/${cluster}/owners/`).strings();
  return Object.fromEntries(
    Object.entries(all).map(([k, v]) => {
      const { node, epoch } = JSON.parse(v);
      return [k.slice(`/proximadb/${cluster}/owners/`.length), { node, epoch }];
    }),
  );
}

describe("Ownership across processes", () => {
  it("three processes claiming the same 30 collections at once: exactly one owner each", async () => {
    const cluster = newCluster("p");
    const nodes = await Promise.all(["p1", "p2", "p3"].map((id) => spawn(cluster, id)));
    const collections = ids(30, "shared-");
    const replies = await Promise.all(nodes.map((n) => n.request({ cmd: "claim", collections })));
    const atEtcd = await ownersAtEtcd(cluster);
    for (const [i, c] of collections.entries()) {
      const winners = nodes.filter((_, k) => replies[k]?.result[i].acquired).map((n) => n.id);
      expect(winners).toHaveLength(1);
      expect(atEtcd[c]).toEqual({ node: winners[0], epoch: 1 });
      for (const [k, n] of nodes.entries())
        if (n.id !== winners[0])
          expect(replies[k]?.result[i]).toEqual({ acquired: false, owner: { node: winners[0], epoch: 1 } });
    }
  });

  it("kill -9 of the owning process: each collection goes to its rendezvous winner among the survivors, epoch 2", async () => {
    const cluster = newCluster("k");
    const victim = await spawn(cluster, "victim");
    const [b, c] = await Promise.all([
      startNode(endpoint, cluster, "node-b"),
      startNode(endpoint, cluster, "node-c"),
    ]);
    const collections = ids(10, "k-");
    const reply = await victim.request({ cmd: "claim", collections });
    expect(reply.result.every((r: { acquired: boolean }) => r.acquired)).toBe(true);
    victim.signal("SIGKILL");
    const got = await eventually(
      () => {
        const m = new Map<string, string>();
        for (const n of [b, c]) for (const [col, e] of n.ownership.owned()) if (e === 2) m.set(col, n.id);
        return m;
      },
      (m) => m.size === collections.length,
    );
    for (const col of collections) expect(got.get(col)).toBe(rankNodes(col, ["node-b", "node-c"])[0]);
    const atEtcd = await ownersAtEtcd(cluster);
    for (const col of collections) expect(atEtcd[col]).toEqual({ node: got.get(col), epoch: 2 });
  });

  it("SIGSTOP past the TTL, then SIGCONT: the paused owner acknowledges nothing after resuming, and its release and claim fail", async () => {
    const cluster = newCluster("s");
    const paused = await spawn(cluster, "paused", 2000);
    const b = await startNode(endpoint, cluster, "node-b");
    const collections = ids(4, "s-");
    await paused.request({ cmd: "claim", collections });
    paused.signal("SIGSTOP");
    const stoppedAt = Date.now();
    // Its lease expires at etcd; node-b takes every collection over with epoch 2.
    await eventually(
      () => collections.map((col) => b.ownership.owned().get(col as never)),
      (e) => e.every((x) => x === 2),
    );
    // Paused for longer than the TTL in any case.
    await sleep(Math.max(0, stoppedAt + 2200 - Date.now()));
    const from = paused.events.length;
    paused.signal("SIGCONT");
    const resumed = await paused.waitFor((e) => e.ev === "resumed", from);
    expect(resumed.gapMs).toBeGreaterThan(2000);
    expect(resumed.isOwner).toEqual(Object.fromEntries(collections.map((col) => [col, false])));
    // Its stale release deletes nothing.
    expect((await paused.request({ cmd: "release", collection: "s-0" })).result).toBe(false);
    await paused.waitFor((e) => e.ev === "leaseRestored", from);
    const claim = await paused.request({ cmd: "claim", collections: ["s-1"] });
    expect(claim.result).toEqual([{ acquired: false, owner: { node: "node-b", epoch: 2 } }]);
    await sleep(200); // a few more ticks of its isOwner loop
    const status = await paused.request({ cmd: "status" });
    expect(status.result).toEqual({ owned: {}, acksAfterResume: 0 });
    const atEtcd = await ownersAtEtcd(cluster);
    for (const col of collections) expect(atEtcd[col]).toEqual({ node: "node-b", epoch: 2 });
  });
});
