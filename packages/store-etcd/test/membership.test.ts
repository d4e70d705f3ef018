import { performance } from "node:perf_hooks";
import { InvalidArgumentError, StoreConflictError } from "@proximadb/core";
import { Etcd3 } from "etcd3";
import { afterAll, afterEach, describe, expect, inject, it } from "vitest";
import { Membership } from "../src/index.js";
import { client, eventually, newCluster, startNode, stopAll } from "./helpers/cluster.js";
import { startTcpProxy } from "./helpers/tcp-proxy.js";

/** Runs `fn` with a TCP proxy in front of etcd; heals and closes it afterwards, whatever happened. */
async function behindProxy(
  fn: (proxy: Awaited<ReturnType<typeof startTcpProxy>>) => Promise<void>,
): Promise<void> {
  const proxy = await startTcpProxy(endpoint);
  try {
    await fn(proxy);
  } finally {
    proxy.heal();
    await proxy.close();
  }
}

/** Waits until `node` sees `count` members. */
const untilMembers = (node: { membership: { memberIds(): readonly string[] } }, count: number) =>
  eventually(
    () => node.membership.memberIds().length,
    (n) => n === count,
  );

/** Waits until the event list `read` returns has an entry. */
const untilSome = (read: () => readonly unknown[]) => eventually(read, (l) => l.length > 0);

const endpoint = inject("etcdEndpoint");
const raw = new Etcd3({ hosts: endpoint });
afterEach(() => stopAll());
afterAll(() => raw.close());

describe("Membership: registration and the live view", () => {
  it.each([
    ["a TTL below 1000 ms", { leaseTtlMs: 999 }],
    ["a TTL of 0", { leaseTtlMs: 0 }],
    ["a fractional TTL", { leaseTtlMs: 1500.5 }],
    ["a margin of half the TTL", { leaseTtlMs: 2000, safetyMarginMs: 1000 }],
    ["a negative margin", { safetyMarginMs: -1 }],
    ["a node id with a slash", { nodeId: "a/b" }],
    ["an empty node id", { nodeId: "" }],
    ["a non-http URL", { url: "ftp://10.0.0.1:7700" }],
  ])("rejects %s with InvalidArgumentError and writes nothing", async (_, bad) => {
    const cluster = newCluster();
    const etcd = client(endpoint);
    try {
      expect(
        () => new Membership({ client: etcd, cluster, nodeId: "n1", url: "http://127.0.0.1:7700", ...bad }),
      ).toThrow(InvalidArgumentError);
      expect((await raw.getAll().prefix(`/proximadb/${cluster}/`).keys()).length).toBe(0);
    } finally {
      etcd.close();
    }
  });

  it("never echoes an advertised URL that carries credentials", () => {
    const etcd = client(endpoint);
    try {
      let error: unknown;
      try {
        new Membership({ client: etcd, cluster: "c", nodeId: "n1", url: "http://user:s3cret@10.0.0.1:7700" });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(String((error as Error).message)).not.toContain("s3cret");
    } finally {
      etcd.close();
    }
  });

  it("defaults the TTL to 10000 ms and the margin to a tenth of it", () => {
    const etcd = client(endpoint);
    try {
      const m = new Membership({ client: etcd, cluster: "c", nodeId: "n1", url: "http://127.0.0.1:7700" });
      expect([m.leaseTtlMs, m.safetyMarginMs]).toEqual([10_000, 1000]);
    } finally {
      etcd.close();
    }
  });

  it("registers {v,id,url,startedAt,leaseTtlMs} under <prefix>/<cluster>/nodes/<id>, bound to its lease", async () => {
    const cluster = newCluster();
    const before = Date.now();
    const a = await startNode(endpoint, cluster, "node-a", { url: "http://10.0.0.1:7700/" });
    const res = await raw.get(`/proximadb/${cluster}/nodes/node-a`).exec();
    const kv = res.kvs[0];
    expect(kv).toBeDefined();
    expect(String(kv?.lease)).toBe(a.membership.lease);
    const value = JSON.parse(kv?.value.toString() ?? "{}");
    expect(value).toEqual({
      v: 1,
      id: "node-a",
      url: "http://10.0.0.1:7700",
      startedAt: expect.any(Number),
      leaseTtlMs: 2000,
    });
    expect(value.startedAt).toBeGreaterThanOrEqual(before);
    expect(a.membership.state).toBe("Live");
  });

  it("every member sees the others join, with what they published", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a");
    const joined: string[] = [];
    a.membership.on("join", (m) => joined.push(m.id));
    const b = await startNode(endpoint, cluster, "node-b", { leaseTtlMs: 3000 });
    await eventually(
      () => a.membership.members().map((m) => m.id),
      (ids) => ids.length === 2,
    );
    expect(a.membership.members().map((m) => m.id)).toEqual(["node-a", "node-b"]);
    expect(b.membership.members().map((m) => m.id)).toEqual(["node-a", "node-b"]);
    expect(a.membership.member("node-b")).toEqual({
      id: "node-b",
      url: b.membership.url,
      startedAt: expect.any(Number),
      leaseTtlMs: 3000,
    });
    expect(joined).toEqual(["node-b"]);
  });

  it("a member that closes disappears at once (its lease is revoked): peers see it leave", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a", { leaseTtlMs: 30_000 });
    const b = await startNode(endpoint, cluster, "node-b", { leaseTtlMs: 30_000 });
    await untilMembers(a, 2);
    const left: string[] = [];
    a.membership.on("leave", (m) => left.push(m.id));
    await b.stop();
    // A 30 s TTL: only the revoke can make the key vanish this soon.
    await eventually(
      () => left,
      (l) => l.length === 1,
    );
    expect(left).toEqual(["node-b"]);
    expect(a.membership.memberIds()).toEqual(["node-a"]);
    expect(await raw.get(`/proximadb/${cluster}/nodes/node-b`).string()).toBeNull();
  });

  it("a member whose keepalives stop (a crash) stays registered until its lease expires, then leaves", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a");
    const b = await startNode(endpoint, cluster, "node-b");
    await untilMembers(a, 2);
    const left: string[] = [];
    a.membership.on("leave", (m) => left.push(m.id));
    await b.crash();
    expect(await raw.get(`/proximadb/${cluster}/nodes/node-b`).string()).not.toBeNull();
    await eventually(
      () => left,
      (l) => l.length === 1,
    );
    expect(left).toEqual(["node-b"]);
    expect(await raw.get(`/proximadb/${cluster}/nodes/node-b`).string()).toBeNull();
  });

  it("leaseDeadline() lies within TTL − margin of now and moves forward with every acknowledged keepalive", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a", { leaseTtlMs: 3000, safetyMarginMs: 500 });
    const first = a.membership.leaseDeadline();
    const now = performance.now();
    expect(first).toBeGreaterThan(now);
    expect(first).toBeLessThanOrEqual(now + 3000 - 500);
    expect(a.membership.leaseValid()).toBe(true);
    const later = await eventually(
      () => a.membership.leaseDeadline(),
      (d) => d > first,
    );
    expect(later).toBeGreaterThan(first);
    expect(later).toBeLessThanOrEqual(performance.now() + 3000 - 500);
  });

  it("refuses to start while another live process is registered with the same node id", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a", { leaseTtlMs: 1000 });
    const lease = a.membership.lease;
    const etcd = client(endpoint);
    try {
      const twin = new Membership({
        client: etcd,
        cluster,
        nodeId: "node-a",
        url: "http://127.0.0.1:7799",
        leaseTtlMs: 1000,
      });
      await expect(twin.start()).rejects.toBeInstanceOf(StoreConflictError);
      await twin.close();
      // The first one is untouched.
      const kv = (await raw.get(`/proximadb/${cluster}/nodes/node-a`).exec()).kvs[0];
      expect(String(kv?.lease)).toBe(lease);
      expect(a.membership.leaseValid()).toBe(true);
    } finally {
      etcd.close();
    }
  });

  it("a restart under the same id after a crash waits out the old registration, then joins with a new lease", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a");
    const old = a.membership.lease;
    await a.crash();
    const again = await startNode(endpoint, cluster, "node-a");
    expect(again.membership.lease).not.toBe(old);
    const kv = (await raw.get(`/proximadb/${cluster}/nodes/node-a`).exec()).kvs[0];
    expect(String(kv?.lease)).toBe(again.membership.lease);
  });
});

describe("Membership: losing the lease", () => {
  it("unanswered keepalives: leaseValid() turns false and leaseLost fires while etcd still holds the lease", async () => {
    const cluster = newCluster();
    await behindProxy(async (proxy) => {
      const a = await startNode(proxy.endpoint, cluster, "node-a", { leaseTtlMs: 2000 });
      let stillAtEtcd: Promise<string | null> | undefined;
      let validAtLoss: boolean | undefined;
      a.membership.on("leaseLost", () => {
        validAtLoss = a.membership.leaseValid();
        stillAtEtcd = raw.get(`/proximadb/${cluster}/nodes/node-a`).string();
      });
      proxy.partition();
      await untilSome(() => a.events.leaseLost);
      expect(a.events.leaseLost).toEqual(["Deadline"]);
      expect(validAtLoss).toBe(false);
      expect(await stillAtEtcd).not.toBeNull();
      expect(a.membership.state).toBe("Unconfirmed");
    });
  });

  it("after the deadline passed, an acknowledgement of the same lease restores it (sameLease: true)", async () => {
    const cluster = newCluster();
    await behindProxy(async (proxy) => {
      // Deadline 1.6 s after a keepalive is sent, expiry at etcd ≥ 3 s after it arrives: heal in between.
      const a = await startNode(proxy.endpoint, cluster, "node-a", {
        leaseTtlMs: 3000,
        safetyMarginMs: 1400,
      });
      const lease = a.membership.lease;
      proxy.partition();
      await untilSome(() => a.events.leaseLost);
      proxy.heal();
      await untilSome(() => a.events.leaseRestored);
      expect(a.events.leaseRestored).toEqual([true]);
      expect(a.membership.lease).toBe(lease);
      expect(a.membership.leaseValid()).toBe(true);
    });
  });

  it("after etcd expired the lease, the node is told so, re-registers with a new lease (sameLease: false)", async () => {
    const cluster = newCluster();
    await behindProxy(async (proxy) => {
      const a = await startNode(proxy.endpoint, cluster, "node-a", { leaseTtlMs: 1000 });
      const old = a.membership.lease;
      proxy.partition();
      await untilSome(() => a.events.leaseLost);
      // Wait (directly on etcd) until the lease has expired there.
      await eventually(
        () => raw.get(`/proximadb/${cluster}/nodes/node-a`).string(),
        (v) => v === null,
      );
      proxy.heal();
      await untilSome(() => a.events.leaseRestored);
      expect(a.events.leaseRestored).toEqual([false]);
      expect(a.membership.lease).not.toBe(old);
      const kv = (await raw.get(`/proximadb/${cluster}/nodes/node-a`).exec()).kvs[0];
      expect(String(kv?.lease)).toBe(a.membership.lease);
      expect(a.membership.state).toBe("Live");
    });
  });

  it("after close(), leaseValid() is false and leaseDeadline() is −∞", async () => {
    const cluster = newCluster();
    const a = await startNode(endpoint, cluster, "node-a");
    await a.stop();
    expect(a.membership.leaseValid()).toBe(false);
    expect(a.membership.leaseDeadline()).toBe(Number.NEGATIVE_INFINITY);
    await expect(a.membership.start()).rejects.toMatchObject({ code: "CLOSED" });
  });
});
