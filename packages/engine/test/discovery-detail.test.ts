// What the engine's start-up discovery reads: names only unless the strategy may compare bytes, and the
// copies of a collection found in two roots still with their sizes and times (they decide the live one).
import { AssignmentService, type FileSystem, type ListOptions, type ListPage } from "@proximadb/core";
import { forwarding } from "@proximadb/testing";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { EngineBase, discoveryDetailFor } from "../src/index.js";

/** One `list` call: its prefix and whether it asked for sizes (fs-local's `sizes: false` asks for names). */
interface ListCall {
  prefix: string;
  sizes: boolean;
}

/** Forwards everything to `inner` and records every `list` call. */
function recording(inner: FileSystem, calls: ListCall[]): FileSystem {
  const wrapper = forwarding(inner);
  wrapper.list = (prefix: string, opts?: ListOptions): AsyncIterable<ListPage> => {
    calls.push({ prefix, sizes: (opts as { sizes?: boolean } | undefined)?.sizes !== false });
    return inner.list(prefix, opts);
  };
  return wrapper;
}

describeOnBackends("EngineBase start-up discovery", ["memory", "local"], (backend) => {
  const env = rootsPerTest<EngineBase>(backend, "disk", 2);

  /** Two roots: `a` and `b` once each, `dup` in both (root 1's copy newer), stale staging under `a`. */
  async function seed() {
    const [r0, r1] = env.tier.urls as [string, string];
    await env.tier.write(r0, {
      "a/vectors/1.parquet": "aaaa",
      "a/_staging/gone/0000000001-x.parquet": "s",
      "dup/vectors/1.parquet": "old copy",
    });
    await env.tier.write(r1, { "b/vectors/1.parquet": "bb", "dup/vectors/1.parquet": "newer" });
    await env.tier.touch(r0, "dup/vectors/1.parquet", 1_700_000_000_000);
    await env.tier.touch(r1, "dup/vectors/1.parquet", 1_700_000_100_000);
    await env.tier.touch(r0, "a/_staging/gone/0000000001-x.parquet", 1_600_000_000_000);
    return { r0, r1 };
  }

  async function open(strategy: "RoundRobin" | "LeastUsed", calls: ListCall[]) {
    const service = new AssignmentService({ components: { viper: { roots: env.tier.urls, strategy } } });
    const engine = await EngineBase.open({
      component: "viper",
      service,
      openFileSystem: (r) => recording(env.tier.openFileSystem(r), calls),
      nodeId: "node-a",
    });
    env.opened.push(engine);
    return { engine, service };
  }

  it("lists the roots by name only under RoundRobin, sizing just the conflicting copies, and still picks the newest", async () => {
    const { r0, r1 } = await seed();
    const calls: ListCall[] = [];
    const { engine, service } = await open("RoundRobin", calls);
    expect(engine.report.detail).toBe("names");
    // The whole-root listings read names only; sizes are read for the conflict and the stale staging only.
    expect(calls.filter((c) => c.prefix === "").map((c) => c.sizes)).toEqual([false, false]);
    expect(
      calls
        .filter((c) => c.sizes && !c.prefix.startsWith("_"))
        .map((c) => c.prefix)
        .sort(),
    ).toEqual(["a/_staging/", "dup/", "dup/"]);
    // The conflict is decided by the newest data, as with sizes: root 1, although root 0 comes first.
    expect(engine.report.conflicts).toHaveLength(1);
    expect(engine.report.conflicts[0]?.chosen).toBe(r1);
    expect(engine.report.conflicts[0]?.copies.map((c) => [c.url, c.bytes])).toEqual([
      [r0, 8],
      [r1, 5],
    ]);
    expect(engine.locate("dup")?.url).toBe(r1);
    expect(engine.locate("a")?.url).toBe(r0);
    expect(engine.locate("b")?.url).toBe(r1);
    expect(engine.report.collections.a?.bytes).toBeUndefined();
    // Stale staging is still found and removed from the names-level report.
    expect(engine.cleanup.removed).toEqual(["a/_staging/gone/0000000001-x.parquet"]);
    expect(await env.tier.keys(r0, "a/_staging/")).toEqual([]);
    // No root usage was made up: LeastUsed would have compared collection counts.
    expect(service.stats()[0]?.roots.map((r) => r.bytes)).toEqual([undefined, undefined]);
  });

  it("reads every size under LeastUsed, whose placement compares the roots' bytes", async () => {
    await seed();
    const calls: ListCall[] = [];
    const { engine, service } = await open("LeastUsed", calls);
    expect(engine.report.detail).toBe("sizes");
    expect(calls.filter((c) => c.prefix === "").map((c) => c.sizes)).toEqual([true, true]);
    // Root 0: a (4) + its losing copy of dup (8); root 1: b (2) + the live dup (5).
    expect(service.stats()[0]?.roots.map((r) => r.bytes)).toEqual([12, 7]);
    expect((await engine.place("next")).index).toBe(1);
  });

  it("takes the level from discoveryDetail when given, and discoveryDetailFor from the strategy", async () => {
    await seed();
    const calls: ListCall[] = [];
    const service = new AssignmentService({
      components: {
        viper: { roots: env.tier.urls, strategy: "Hash" },
        lsm: { roots: env.tier.urls, strategy: "LeastUsed" },
      },
    });
    expect(discoveryDetailFor(service, "viper")).toBe("names");
    expect(discoveryDetailFor(service, "lsm")).toBe("sizes");
    expect(discoveryDetailFor(service, "wal")).toBe("sizes"); // not configured: nothing known, read everything
    const engine = await EngineBase.open({
      component: "viper",
      service,
      openFileSystem: (r) => recording(env.tier.openFileSystem(r), calls),
      nodeId: "node-a",
      discoveryDetail: "sizes",
    });
    env.opened.push(engine);
    expect(engine.report.detail).toBe("sizes");
    expect(calls.filter((c) => c.prefix === "").map((c) => c.sizes)).toEqual([true, true]);
  });
});
