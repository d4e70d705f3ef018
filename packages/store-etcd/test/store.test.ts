import {
  AssignmentService,
  ClosedError,
  type CollectionId,
  type ComponentType,
  StoreUnavailableError,
} from "@proximadb/core";
import { freePort, startEtcd } from "@proximadb/testing/emulators/etcd";
import { Etcd3 } from "etcd3";
import { afterAll, describe, expect, inject, it } from "vitest";
import { EtcdAssignmentStore, reconcile } from "../src/index.js";
import { eventually } from "./helpers/cluster.js";

const endpoint = inject("etcdEndpoint");
const id = (s: string) => s as CollectionId;
const ROOTS = ["file:///mnt/a/wal", "file:///mnt/b/wal", "file:///mnt/c/wal"];
let clusterSeq = 0;
const cluster = () => `t${process.pid}-${Date.now()}-${clusterSeq++}`;
const opened: EtcdAssignmentStore[] = [];
function open(name: string, extra: Partial<{ hosts: string; attempts: number }> = {}): EtcdAssignmentStore {
  const store = new EtcdAssignmentStore({
    hosts: extra.hosts ?? endpoint,
    cluster: name,
    dialTimeoutMs: 1000,
    callTimeoutMs: 1000,
    retry: { attempts: extra.attempts ?? 3, baseDelayMs: 20, maxDelayMs: 100 },
  });
  opened.push(store);
  return store;
}
const raw = new Etcd3({ hosts: endpoint });
/** Records `collection` on `url` (component `wal` unless named) at time 1, if absent. */
const assign = (
  store: EtcdAssignmentStore,
  collection: string,
  url: string,
  component: ComponentType = "wal",
) => store.putIfAbsent({ collection: id(collection), component, url, assignedAt: 1 });
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  raw.close();
});

describe("EtcdAssignmentStore (contract)", () => {
  it("creates an entry once; a second putIfAbsent gets the first one back", async () => {
    const store = open(cluster());
    const first = await assign(store, "orders", ROOTS[0] as string);
    const second = await store.putIfAbsent({
      collection: id("orders"),
      component: "wal",
      url: ROOTS[1] as string,
      assignedAt: 2,
    });
    expect(first).toEqual({
      created: true,
      assignment: { collection: "orders", component: "wal", url: ROOTS[0], assignedAt: 1 },
    });
    expect(second).toEqual({ created: false, assignment: first.assignment });
    expect(await store.get("wal", id("orders"))).toEqual(first.assignment);
    expect(await store.get("viper", id("orders"))).toBeUndefined();
    expect(store.authoritative).toBe(true);
  });

  it("stores versioned JSON under <prefix>/<cluster>/assignments/<component>/<collection>", async () => {
    const name = cluster();
    const store = open(name);
    await store.putIfAbsent({
      collection: id("users"),
      component: "viper",
      url: "s3://bucket/viper",
      assignedAt: 42,
    });
    const value = await raw.get(`/proximadb/${name}/assignments/viper/users`).string();
    expect(JSON.parse(value as string)).toEqual({ v: 1, url: "s3://bucket/viper", assignedAt: 42 });
  });

  it("of many stores racing for the same collections, exactly one wins each and all adopt it", async () => {
    const name = cluster();
    const stores = [open(name), open(name), open(name)];
    const ids = Array.from({ length: 200 }, (_, i) => id(`race${i}`));
    const results = await Promise.all(
      stores.map((s, n) =>
        Promise.all(
          ids.map((c) =>
            s.putIfAbsent({ collection: c, component: "wal", url: ROOTS[n] as string, assignedAt: n }),
          ),
        ),
      ),
    );
    for (let i = 0; i < ids.length; i++) {
      const rs = results.map((r) => r[i]);
      expect(rs.filter((r) => r?.created)).toHaveLength(1);
      expect(new Set(rs.map((r) => r?.assignment.url)).size).toBe(1);
    }
  });

  it("lists and deletes; list(component) holds only that component", async () => {
    const store = open(cluster());
    await assign(store, "a", ROOTS[0] as string);
    await assign(store, "b", ROOTS[1] as string);
    await assign(store, "a", "file:///mnt/a/lsm", "lsm");
    expect((await store.list("wal")).map((a) => a.collection).sort()).toEqual(["a", "b"]);
    expect(await store.list()).toHaveLength(3);
    expect(await store.delete("wal", id("a"))).toBe(true);
    expect(await store.delete("wal", id("a"))).toBe(false);
    expect((await store.list("wal")).map((a) => a.collection)).toEqual(["b"]);
  });

  it("loads what other nodes stored before it started", async () => {
    const name = cluster();
    await open(name).putIfAbsent({
      collection: id("early"),
      component: "index",
      url: "gcs://b/idx",
      assignedAt: 7,
    });
    const late = open(name);
    expect(await late.get("index", id("early"))).toEqual({
      collection: "early",
      component: "index",
      url: "gcs://b/idx",
      assignedAt: 7,
    });
  });

  it("skips values of an unknown version instead of guessing", async () => {
    const name = cluster();
    await raw.put(`/proximadb/${name}/assignments/wal/future`).value(JSON.stringify({ v: 2, where: "x" }));
    const store = open(name);
    expect(await store.list()).toEqual([]);
    expect(store.metrics.invalidValues).toBe(1);
  });

  it("makes a placement by node A visible in node B's cache within 1 s (watch)", async () => {
    const name = cluster();
    const a = open(name);
    const b = open(name);
    await b.start();
    const events: string[] = [];
    b.watch((e) =>
      events.push(e.type === "put" ? `put ${e.assignment.collection}` : `delete ${e.collection}`),
    );
    await a.putIfAbsent({ collection: id("seen"), component: "wal", url: ROOTS[2] as string, assignedAt: 1 });
    const got = await eventually(
      () => b.get("wal", id("seen")),
      (v) => v !== undefined,
      1000,
    );
    expect(got?.url).toBe(ROOTS[2]);
    await a.delete("wal", id("seen"));
    await eventually(
      () => b.get("wal", id("seen")),
      (v) => v === undefined,
      1000,
    );
    expect(events).toEqual(["put seen", "delete seen"]);
  });

  it("keeps AssignmentServices of two nodes in agreement, with exact round-robin across them", async () => {
    const name = cluster();
    const [sa, sb] = [open(name), open(name)];
    const a = new AssignmentService({
      store: sa,
      components: { wal: { roots: ROOTS, strategy: "RoundRobin" } },
    });
    const b = new AssignmentService({
      store: sb,
      components: { wal: { roots: ROOTS, strategy: "RoundRobin" } },
    });
    await Promise.all([a.load(), b.load()]);
    const ids = Array.from({ length: 300 }, (_, i) => `s${i}`);
    await Promise.all([
      ...ids.map((c) => a.assign(c, "wal")),
      ...[...ids].reverse().map((c) => b.assign(c, "wal")),
    ]);
    for (const c of ids) expect(a.get(c, "wal")?.url).toBe(b.get(c, "wal")?.url);
    const counts = a.stats()[0]?.roots.map((r) => r.collections) ?? [];
    expect(counts).toEqual([100, 100, 100]);
    a.close();
    b.close();
  });

  it("after close(), rejects every call with core's ClosedError (code CLOSED), not a store outage", async () => {
    const name = cluster();
    const store = open(name);
    await assign(store, "c", ROOTS[0] as string);
    await store.close();
    const calls: [string, () => Promise<unknown>][] = [
      ["start", () => store.start()],
      ["list", () => store.list()],
      ["get", () => store.get("wal", id("c"))],
      ["delete", () => store.delete("wal", id("c"))],
      [
        "putIfAbsent",
        () =>
          store.putIfAbsent({
            collection: id("d"),
            component: "wal",
            url: ROOTS[1] as string,
            assignedAt: 2,
          }),
      ],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, name).toBeInstanceOf(ClosedError);
      expect((err as ClosedError).code, name).toBe("CLOSED");
      expect(err, name).not.toBeInstanceOf(StoreUnavailableError);
    }
    expect(await raw.get(`/proximadb/${name}/assignments/wal/d`).string()).toBeNull();
    expect(await raw.get(`/proximadb/${name}/assignments/wal/c`).string()).not.toBeNull();
  });

  it("rejects bad cluster names and prefixes with a typed error", () => {
    expect(() => new EtcdAssignmentStore({ hosts: endpoint, cluster: "a/b" })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => new EtcdAssignmentStore({ hosts: endpoint, cluster: "ok", prefix: "nope" })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
  });
});

describe("reconcile", () => {
  it("records what is on disk but not in etcd, reports missing and mismatched, re-places nothing", async () => {
    const store = open(cluster());
    await assign(store, "home", ROOTS[0] as string);
    await assign(store, "gone", ROOTS[1] as string);
    await assign(store, "moved", ROOTS[0] as string);
    await assign(store, "offline", ROOTS[2] as string);
    const report = await reconcile(
      store,
      "wal",
      [
        { collection: "home", url: ROOTS[0] as string },
        { collection: "fresh", url: ROOTS[1] as string, assignedAt: 5 },
        { collection: "moved", url: ROOTS[1] as string },
      ],
      { scannedRoots: [ROOTS[0] as string, ROOTS[1] as string] },
    );
    expect(report.recorded).toEqual([
      { collection: "fresh", component: "wal", url: ROOTS[1], assignedAt: 5 },
    ]);
    expect(report.missing.map((a) => a.collection)).toEqual(["gone", "moved"]);
    expect(report.mismatched).toEqual([{ collection: "moved", recordedUrl: ROOTS[0], foundUrl: ROOTS[1] }]);
    expect(report.agreed).toBe(1);
    expect((await store.get("wal", id("moved")))?.url).toBe(ROOTS[0]);
  });
});

describe("faults", () => {
  it("fails with a retryable StoreUnavailableError after bounded retries when etcd is unreachable", async () => {
    const port = await freePort();
    const store = open(cluster(), { hosts: `http://127.0.0.1:${port}`, attempts: 2 });
    const err = await store
      .putIfAbsent({ collection: id("x"), component: "wal", url: ROOTS[0] as string, assignedAt: 1 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.retryable).toBe(true);
    expect(err.code).toBe("STORE_UNAVAILABLE");
  });

  it("decides nothing locally while etcd is down, serves cached reads, and recovers when it returns", async () => {
    const etcd = await startEtcd();
    try {
      const name = cluster();
      const store = open(name, { hosts: etcd.endpoint });
      const service = new AssignmentService({
        store,
        components: { wal: { roots: ROOTS, strategy: "RoundRobin" } },
      });
      await service.load();
      const before = await service.assign("before", "wal");
      await etcd.kill();
      await expect(service.assign("during", "wal")).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(service.get("during", "wal")).toBeUndefined();
      expect(await store.get("wal", id("before"))).toEqual(before);
      expect(await service.assign("before", "wal")).toEqual(before);
      await etcd.restart();
      const during = await service.assign("during", "wal");
      expect(during.url).toBe(ROOTS[1]);
      // The watch resumed: a placement made by another node after the restart reaches this cache.
      const other = open(name, { hosts: etcd.endpoint });
      await assign(other, "after", ROOTS[2] as string);
      const seen = await eventually(
        () => store.get("wal", id("after")),
        (v) => v !== undefined,
        5000,
      );
      expect(seen?.url).toBe(ROOTS[2]);
      service.close();
    } finally {
      await etcd.stop();
    }
  });
});
