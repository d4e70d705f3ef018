import {
  AssignmentService,
  DuplicateRootError,
  EmptyRootListError,
  InvalidArgumentError,
  InMemoryAssignmentStore,
  NestedRootsError,
} from "@proximadb/core";
import { createMemoryRoots, MemoryFileSystem } from "@proximadb/fs-memory";
import { describe, expect, it } from "vitest";
import {
  type DiscoveryEvent,
  discover,
  discoverAll,
  ensureRootMarker,
  ForeignRootError,
  readRootMarker,
  recordInto,
  ROOT_MARKER_FILE,
} from "../src/index.js";
import { instrument } from "./support/wrappers.js";

const memRoots = (tree: Record<string, Record<string, string>>) => {
  const h = createMemoryRoots(tree);
  return h.roots.map((r) => h.fs(r.url));
};

describe("discovery report", () => {
  it("emits root-started, files-scanned (cumulative), collection-found and root-finished events", async () => {
    const roots = memRoots({
      "mem://a": { "c1/1.avro": "x", "c1/2.avro": "x", "c2/1.avro": "x" },
      "mem://b": { "c3/1.avro": "x" },
    });
    const events: DiscoveryEvent[] = [];
    await discover({ component: "wal", roots, onEvent: (e) => events.push(e), pageSize: 2 });
    const forA = events.filter((e) => e.url === "mem://a");
    expect(forA[0]).toEqual({ type: "root-started", component: "wal", url: "mem://a", index: 0 });
    expect(forA.at(-1)).toEqual({
      type: "root-finished",
      component: "wal",
      url: "mem://a",
      index: 0,
      status: "online",
      collections: 2,
      files: 3,
    });
    expect(
      forA.filter((e) => e.type === "files-scanned").map((e) => (e.type === "files-scanned" ? e.count : -1)),
    ).toEqual([2, 3]);
    expect(
      events
        .filter((e) => e.type === "collection-found")
        .map((e) => (e.type === "collection-found" ? e.collection : ""))
        .sort(),
    ).toEqual(["c1", "c2", "c3"]);
  });

  it("caps non-staging ignored entries, keeps every staging entry and counts everything", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 1500; i++) files[`c1/note-${i}.txt`] = "x";
    for (let i = 0; i < 1200; i++) files[`c1/_staging/s-${i}.avro`] = "x";
    files["c1/1.avro"] = "x";
    const report = await discover({ component: "wal", roots: memRoots({ "mem://a": files }) });
    expect(report.ignored.filter((e) => e.reason === "not-data")).toHaveLength(1000);
    expect(report.ignored.filter((e) => e.reason === "staging")).toHaveLength(1200);
    expect(report.ignoredTruncated).toBe(500);
    expect(report.ignoredCounts).toMatchObject({ "not-data": 1500, staging: 1200 });
  });

  it("rejects bad options with typed errors before touching any root", async () => {
    const [a, b] = memRoots({ "mem://a": {}, "mem://a/inner": {} });
    await expect(discover({ component: "wal", roots: [] })).rejects.toBeInstanceOf(EmptyRootListError);
    await expect(
      discover({ component: "wal", roots: [a!, new MemoryFileSystem("mem://a")] }),
    ).rejects.toBeInstanceOf(DuplicateRootError);
    await expect(discover({ component: "wal", roots: [a!, b!] })).rejects.toBeInstanceOf(NestedRootsError);
    await expect(discover({ component: "wal", roots: [a!], concurrency: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(discover({ component: "nope" as "wal", roots: [a!] })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(
      discover({ component: "wal", roots: [a!], detail: "stats" as "names" }),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      discoverAll([
        { component: "wal", roots: [a!] },
        { component: "wal", roots: [a!] },
      ]),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("stops when the signal aborts", async () => {
    const roots = memRoots({ "mem://a": { "c1/1.avro": "x" } });
    const ac = new AbortController();
    ac.abort(new Error("shutting down"));
    await expect(discover({ component: "wal", roots, signal: ac.signal })).rejects.toThrow("shutting down");
  });

  it("lists with the delimiter plan when the previous flat listing showed it cheaper", async () => {
    const files: Record<string, string> = { "c1/1.avro": "x", "c2/1.avro": "x" };
    for (let i = 0; i < 40; i++) files[`_archive/${i}.avro`] = "x";
    const [root] = memRoots({ "mem://a": files });
    const first = await discover({ component: "wal", roots: [root!], pageSize: 5 });
    expect(first.roots[0]).toMatchObject({ plan: "flat", requests: 9, costs: { flat: 9, delimiter: 3 } });
    const fs = instrument(root!);
    const second = await discover({ component: "wal", roots: [fs], pageSize: 5, previous: first });
    expect(second.roots[0]).toMatchObject({ plan: "delimiter", requests: 3 });
    expect(fs.pages).toBe(3);
    expect(second.collections).toEqual(first.collections);
  });
});

describe("root markers", () => {
  it("creates the marker once and returns the same identity afterwards", async () => {
    const [root] = memRoots({ "mem://a": {} });
    expect(await readRootMarker(root!)).toBeUndefined();
    const m = await ensureRootMarker(root!, "viper", {
      deployment: "prod",
      siblings: ["mem://b", "mem://a"],
    });
    expect(m).toMatchObject({
      format: 1,
      component: "viper",
      url: "mem://a",
      deployment: "prod",
      siblings: ["mem://b"],
    });
    expect(await ensureRootMarker(root!, "viper", { deployment: "prod" })).toEqual(m);
    expect(await readRootMarker(root!)).toEqual(m);
  });

  it("refuses a root whose marker belongs to another component or deployment, or is not a marker", async () => {
    const [root, junk] = memRoots({ "mem://a": {}, "mem://b": { [ROOT_MARKER_FILE]: "{not json" } });
    await ensureRootMarker(root!, "wal", { deployment: "prod" });
    await expect(ensureRootMarker(root!, "lsm")).rejects.toMatchObject({ kind: "Component" });
    await expect(ensureRootMarker(root!, "wal", { deployment: "dev" })).rejects.toMatchObject({
      kind: "Deployment",
    });
    await expect(ensureRootMarker(junk!, "wal")).rejects.toBeInstanceOf(ForeignRootError);
    await expect(ensureRootMarker(junk!, "wal")).rejects.toMatchObject({
      kind: "Invalid",
      code: "FOREIGN_ROOT",
    });
    const report = await discover({ component: "wal", roots: [root!, junk!], deployment: "prod" });
    expect(report.roots.map((r) => r.status)).toEqual(["online", "foreign"]);
    const other = await discover({ component: "lsm", roots: [root!] });
    expect(other.roots[0]?.status).toBe("foreign");
  });
});

describe("recordInto", () => {
  it("records live copies with assignedAt = oldest data file and marks non-online roots offline", async () => {
    const h = createMemoryRoots({
      "mem://a": {
        "c1/1.avro": { data: "x", mtimeMs: 1_000_000 },
        "c1/2.avro": { data: "x", mtimeMs: 2_000_000 },
      },
      "mem://b": { "c2/1.avro": "x" },
    });
    const roots = [h.fs("mem://a"), h.fs("mem://b"), new MemoryFileSystem("mem://c", { volume: h.volume })];
    const report = await discover({ component: "wal", roots });
    const service = new AssignmentService({
      components: { wal: { roots: ["mem://a", "mem://b", "mem://c"] } },
    });
    const result = await recordInto(service, report);
    expect(result).toEqual({ recorded: 2, offlineRoots: ["mem://c"], mismatches: [] });
    expect(service.get("c1", "wal")).toMatchObject({ url: "mem://a", assignedAt: 1_000_000 });
    expect(service.stats()[0]?.roots.map((r) => r.state)).toEqual(["active", "active", "offline"]);
  });

  it("reports, and never overwrites, a collection a shared store places in another root", async () => {
    const roots = memRoots({ "mem://a": { "c1/1.avro": "x" }, "mem://b": {} });
    const store = new InMemoryAssignmentStore();
    await store.putIfAbsent({ collection: "c1" as never, component: "wal", url: "mem://b", assignedAt: 1 });
    const service = new AssignmentService({ components: { wal: { roots: ["mem://a", "mem://b"] } }, store });
    const result = await recordInto(service, await discover({ component: "wal", roots }));
    expect(result.mismatches).toEqual([{ collection: "c1", foundUrl: "mem://a", storedUrl: "mem://b" }]);
    expect((await store.get("wal", "c1" as never))?.url).toBe("mem://b");
  });
});
