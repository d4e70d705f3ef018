import { describe, expect, it } from "vitest";
import {
  type AllocationRequest,
  type Assignment,
  type AssignmentEvent,
  AssignmentService,
  type AssignmentStore,
  type CollectionId,
  type ComponentType,
  EmptyRootListError,
  InMemoryAssignmentStore,
  InvalidCollectionIdError,
  NestedRootsError,
  NoEligibleRootError,
  RootOfflineError,
  StoreConflictError,
  UnknownRootError,
} from "../src/index.js";

const roots3 = ["file:///d1/viper", "file:///d2/viper", "file:///d3/viper"];

/** A store that answers asynchronously (like a remote one) and counts its compare-and-set calls. */
class CountingAsyncStore implements AssignmentStore {
  readonly authoritative = false;
  readonly inner = new InMemoryAssignmentStore();
  puts = 0;
  list(component?: ComponentType) {
    return this.inner.list(component);
  }
  get(component: ComponentType, collection: CollectionId) {
    return this.inner.get(component, collection);
  }
  async putIfAbsent(a: Assignment) {
    this.puts++;
    await new Promise((r) => setTimeout(r, 1));
    return this.inner.putIfAbsent(a);
  }
  delete(component: ComponentType, collection: CollectionId) {
    return this.inner.delete(component, collection);
  }
}

describe("AssignmentService", () => {
  it("is idempotent: a collection keeps its root", async () => {
    const s = new AssignmentService({ components: { viper: { roots: roots3 } } });
    const a = await s.assign("orders", "viper");
    await s.assign("users", "viper");
    expect(await s.assign("orders", "viper")).toBe(a);
    expect(s.get("orders", "viper")).toBe(a);
  });

  it.each([
    ["an asynchronous store", () => new CountingAsyncStore()],
    ["the in-memory store", () => new InMemoryAssignmentStore()],
  ])(
    "gives exactly one root to each of 100 collections under 1,000 concurrent calls (%s)",
    async (_, makeStore) => {
      const store = makeStore();
      const s = new AssignmentService({ components: { viper: { roots: roots3 } }, store });
      const calls = Array.from({ length: 1000 }, (_, i) => s.assign(`c${i % 100}`, "viper"));
      const results = await Promise.all(calls);
      const byId = new Map<string, Set<string>>();
      for (const r of results) {
        if (!byId.has(r.collection)) byId.set(r.collection, new Set());
        byId.get(r.collection)!.add(r.url);
      }
      expect(byId.size).toBe(100);
      for (const set of byId.values()) expect(set.size).toBe(1);
      if (store instanceof CountingAsyncStore) expect(store.puts).toBe(100);
      expect((await store.list("viper")).length).toBe(100);
      expect(s.stats()[0]!.roots.map((r) => r.collections)).toEqual([34, 33, 33]);
    },
  );

  it("adopts the winner when another node placed the collection first", async () => {
    const store = new InMemoryAssignmentStore();
    await store.putIfAbsent({
      collection: "orders" as CollectionId,
      component: "viper",
      url: roots3[2]!,
      assignedAt: 1,
    });
    const s = new AssignmentService({ components: { viper: { roots: roots3 } }, store });
    const a = await s.assign("orders", "viper");
    expect(a.url).toBe(roots3[2]);
    expect(s.stats()[0]!.roots[2]!.collections).toBe(1);
  });

  it("continues round-robin from recorded assignments after a restart", async () => {
    const first = new AssignmentService({ components: { wal: { roots: roots3 } } });
    const found: Assignment[] = [];
    for (let i = 0; i < 30; i++) found.push(await first.assign(`c${i}`, "wal"));
    const second = new AssignmentService({ components: { wal: { roots: roots3 } } });
    for (const a of found) await second.record(a);
    const next = [];
    for (let i = 30; i < 33; i++)
      next.push(second.rootIndex("wal", (await second.assign(`c${i}`, "wal")).url));
    expect(next.sort()).toEqual([0, 1, 2]);
    for (const a of found) expect(second.get(a.collection, "wal")?.url).toBe(a.url);
  });

  it("refuses to move a collection whose home root is offline", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    await s.record({ collection: "orders", component: "wal", url: roots3[1]!, assignedAt: 5 });
    s.setRootState("wal", roots3[1]!, "offline");
    await expect(s.assign("orders", "wal")).rejects.toBeInstanceOf(RootOfflineError);
    expect(s.get("orders", "wal")?.url).toBe(roots3[1]);
    s.setRootState("wal", roots3[1]!, "active");
    expect((await s.assign("orders", "wal")).url).toBe(roots3[1]);
  });

  it("does not place an unknown collection while a root may hold it (non-authoritative store)", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    s.setRootState("wal", roots3[0]!, "offline");
    await expect(s.assign("new-one", "wal")).rejects.toBeInstanceOf(RootOfflineError);
    expect(s.list("wal")).toEqual([]);
    const lenient = new AssignmentService({
      components: { wal: { roots: roots3 } },
      placeWhileRootsOffline: true,
    });
    lenient.setRootState("wal", roots3[0]!, "offline");
    expect((await lenient.assign("new-one", "wal")).url).not.toBe(roots3[0]);
  });

  it("places nothing new on cordoned roots but keeps their collections", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    await s.record({ collection: "old", component: "wal", url: roots3[0]!, assignedAt: 1 });
    s.setRootState("wal", roots3[0]!, "cordoned");
    for (let i = 0; i < 20; i++) expect((await s.assign(`n${i}`, "wal")).url).not.toBe(roots3[0]);
    expect((await s.assign("old", "wal")).url).toBe(roots3[0]);
  });

  it("rejects bad input with typed errors and changes nothing", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    await expect(s.assign("../etc", "wal")).rejects.toBeInstanceOf(InvalidCollectionIdError);
    await expect(s.assign("_staging", "wal")).rejects.toBeInstanceOf(InvalidCollectionIdError);
    await expect(s.assign("ok", "lsm")).rejects.toBeInstanceOf(EmptyRootListError);
    await expect(
      s.record({ collection: "ok", component: "wal", url: "file:///elsewhere" }),
    ).rejects.toBeInstanceOf(UnknownRootError);
    expect(s.stats()[0]!.total).toBe(0);
    expect(() => new AssignmentService({ components: { wal: { roots: [] } } })).toThrow(EmptyRootListError);
    expect(
      () => new AssignmentService({ components: { wal: { roots: ["file:///a", "file:///a/b"] } } }),
    ).toThrow(NestedRootsError);
  });

  it("reports a conflict when a different root is already recorded", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    await s.record({ collection: "orders", component: "wal", url: roots3[0]! });
    await expect(
      s.record({ collection: "orders", component: "wal", url: roots3[1]! }),
    ).rejects.toBeInstanceOf(StoreConflictError);
  });

  it("throws NoEligibleRootError when every root is cordoned", async () => {
    const s = new AssignmentService({
      components: { wal: { roots: roots3.map((url) => ({ url, state: "cordoned" as const })) } },
    });
    await expect(s.assign("x", "wal")).rejects.toBeInstanceOf(NoEligibleRootError);
  });

  it("reports stats with per-root counts, skew and cursor", async () => {
    const s = new AssignmentService({
      components: { viper: { roots: roots3, strategy: "LeastUsed" }, wal: { roots: roots3 } },
    });
    for (let i = 0; i < 4; i++) await s.assign(`c${i}`, "wal");
    const [wal, viper] = s.stats();
    expect(viper).toMatchObject({ component: "viper", strategy: "LeastUsed", total: 0, skew: 0 });
    expect(wal).toMatchObject({ component: "wal", strategy: "RoundRobin", total: 4, cursor: 1 });
    expect(wal!.roots.map((r) => r.collections)).toEqual([2, 1, 1]);
    expect(wal!.skew).toBeCloseTo(2 / (4 / 3));
  });

  it("emits change events", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    const events: AssignmentEvent["type"][] = [];
    const off = s.on((e) => events.push(e.type));
    await s.assign("a", "wal");
    await s.record({ collection: "b", component: "wal", url: roots3[2]! });
    s.setRootState("wal", roots3[0]!, "cordoned");
    await s.remove("a", "wal");
    off();
    await s.assign("c", "wal");
    expect(events).toEqual(["assigned", "recorded", "root-state", "removed"]);
  });

  it("uses collection affinity (Hash) when collectionAffinity is on", async () => {
    const a = new AssignmentService({ components: { viper: { roots: roots3, collectionAffinity: true } } });
    const b = new AssignmentService({
      components: {
        viper: { roots: [...roots3].reverse(), strategy: "RoundRobin", collectionAffinity: true },
      },
    });
    for (let i = 0; i < 50; i++)
      expect((await a.assign(`c${i}`, "viper")).url).toBe((await b.assign(`c${i}`, "viper")).url);
  });

  it("follows changes a shared store reports from other nodes", async () => {
    class SharedStore extends InMemoryAssignmentStore {
      override readonly authoritative = true;
    }
    const store: AssignmentStore = new SharedStore();
    const s = new AssignmentService({ components: { wal: { roots: roots3 } }, store });
    await s.load();
    await store.putIfAbsent({
      collection: "elsewhere" as CollectionId,
      component: "wal" as ComponentType,
      url: roots3[1]!,
      assignedAt: 3,
    });
    expect(s.get("elsewhere", "wal")?.url).toBe(roots3[1]);
    s.setRootState("wal", roots3[0]!, "offline");
    // An authoritative store knows every collection: an unknown one is new and may be placed.
    expect((await s.assign("fresh", "wal")).url).not.toBe(roots3[0]);
    s.close();
  });

  it("lets a store that offers allocate() pick the round-robin root (shared counter)", async () => {
    class CountingAllocator extends InMemoryAssignmentStore {
      override readonly authoritative = true;
      ticket = 0;
      requests: (readonly string[])[] = [];
      async allocate(req: AllocationRequest) {
        this.requests.push(req.candidates);
        const url = req.candidates[this.ticket++ % req.candidates.length]!;
        return this.putIfAbsent({
          collection: req.collection,
          component: req.component,
          url,
          assignedAt: req.assignedAt,
        });
      }
    }
    const store = new CountingAllocator();
    store.ticket = 2; // another node already placed two collections
    const s = new AssignmentService({
      components: { wal: { roots: roots3 }, viper: { roots: roots3, strategy: "Hash" } },
      store,
    });
    await s.load(); // follows the store's watch, which echoes our own placements too
    s.setRootState("wal", roots3[1]!, "cordoned");
    const events: string[] = [];
    s.on((e) => events.push(e.type));
    const placed = [];
    for (const c of ["a", "b", "c"]) placed.push((await s.assign(c, "wal")).url);
    expect(placed).toEqual([roots3[0], roots3[2], roots3[0]]);
    expect(store.requests[0]).toEqual([roots3[0], roots3[2]]);
    // Our own placements echoed by the store's watch are reported once, as "assigned".
    expect(events).toEqual(["assigned", "assigned", "assigned"]);
    await s.assign("h", "viper");
    expect(store.requests.length).toBe(3); // Hash does not go through allocate
  });

  it("counts its own placements once when it also follows the in-memory store's changes", async () => {
    const s = new AssignmentService({ components: { wal: { roots: roots3 } } });
    await s.load(); // subscribes to the store, which reports every put synchronously
    const events: string[] = [];
    s.on((e) => events.push(e.type));
    for (const c of ["a", "b", "c", "d"]) await s.assign(c, "wal");
    expect(events).toEqual(["assigned", "assigned", "assigned", "assigned"]);
    expect(s.stats()[0]!.roots.map((r) => r.collections)).toEqual([2, 1, 1]);
    expect(s.stats()[0]!.total).toBe(4);
  });
});
