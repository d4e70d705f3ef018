import { describe, expect, it } from "vitest";
import {
  AssignmentService,
  type CollectionId,
  InMemoryAssignmentStore,
  StoreConflictError,
  UnknownRootError,
  createXxh64,
  xxh64Hex,
} from "../src/index.js";

const ROOTS = ["file:///mnt/a/viper", "file:///mnt/b/viper", "file:///mnt/c/viper"];
const A = ROOTS[0] as string;
const B = ROOTS[1] as string;
const C = ROOTS[2] as string;
const id = (s: string) => s as CollectionId;

describe("InMemoryAssignmentStore.reassign (compare-and-set on the old URL)", () => {
  const put = async () => {
    const store = new InMemoryAssignmentStore();
    await store.putIfAbsent({ collection: id("c"), component: "viper", url: A, assignedAt: 5 });
    return store;
  };

  it("moves an entry that names `from` to `to`, keeping its assignedAt", async () => {
    const store = await put();
    expect(await store.reassign("viper", id("c"), A, B)).toEqual({
      moved: true,
      assignment: { collection: "c", component: "viper", url: B, assignedAt: 5 },
    });
    expect((await store.get("viper", id("c")))?.url).toBe(B);
  });

  it("leaves an entry that names another root as it is and returns it", async () => {
    const store = await put();
    const r = await store.reassign("viper", id("c"), C, B);
    expect(r.moved).toBe(false);
    expect(r.assignment?.url).toBe(A);
    expect((await store.get("viper", id("c")))?.url).toBe(A);
  });

  it("reports no entry for an unknown collection and creates none", async () => {
    const store = await put();
    expect(await store.reassign("viper", id("nope"), A, B)).toEqual({ moved: false, assignment: undefined });
    expect(await store.get("viper", id("nope"))).toBeUndefined();
  });

  it("tells watchers of the new entry", async () => {
    const store = await put();
    const seen: string[] = [];
    store.watch((e) => seen.push(e.type === "put" ? e.assignment.url : "delete"));
    await store.reassign("viper", id("c"), A, B);
    expect(seen).toEqual([B]);
  });
});

describe("AssignmentService.reassign", () => {
  const service = async () => {
    const s = new AssignmentService({ components: { viper: { roots: ROOTS } } });
    await s.load();
    await s.record({ collection: "c", component: "viper", url: A });
    return s;
  };

  it("points the collection at the new root and moves it in the per-root counts", async () => {
    const s = await service();
    await s.reassign("c", "viper", A, B);
    expect(s.get("c", "viper")?.url).toBe(B);
    const roots = s.stats()[0]?.roots.map((r) => r.collections);
    expect(roots).toEqual([0, 1, 0]);
  });

  it("is idempotent for a resumed move (the store already names `to`)", async () => {
    const s = await service();
    await s.reassign("c", "viper", A, B);
    expect((await s.reassign("c", "viper", A, B)).url).toBe(B);
  });

  it("refuses when the store names a third root, changing nothing", async () => {
    const s = await service();
    await expect(s.reassign("c", "viper", C, B)).rejects.toBeInstanceOf(StoreConflictError);
    expect(s.get("c", "viper")?.url).toBe(A);
  });

  it("refuses a root that is not configured", async () => {
    const s = await service();
    await expect(s.reassign("c", "viper", A, "file:///elsewhere")).rejects.toBeInstanceOf(UnknownRootError);
  });
});

describe("AssignmentService.preview", () => {
  it("names the root the strategy would pick without recording anything, skipping cordoned roots", async () => {
    const s = new AssignmentService({ components: { viper: { roots: ROOTS, strategy: "RoundRobin" } } });
    await s.load();
    expect([0, 1, 2, 3].map((c) => s.preview("x", "viper", c))).toEqual([A, B, C, A]);
    s.setRootState("viper", A, "cordoned");
    expect([0, 1, 2].map((c) => s.preview("x", "viper", c))).not.toContain(A);
    expect(s.get("x", "viper")).toBeUndefined();
    expect(s.stats()[0]?.total).toBe(0);
  });
});

describe("createXxh64", () => {
  it("hashes chunks to the same value as the whole text at once", () => {
    const text = "the quick brown fox jumps over the lazy dog ".repeat(50);
    const bytes = new TextEncoder().encode(text);
    const h = createXxh64();
    for (let i = 0; i < bytes.length; i += 7) h.update(bytes.subarray(i, i + 7));
    expect(h.digest()).toBe(xxh64Hex(text));
    expect(createXxh64().digest()).toBe(xxh64Hex(""));
  });
});
