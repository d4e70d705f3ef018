// Start-up after a crash may find staging in thousands of collections: their `_staging/` folders are
// listed several at once (bounded), not one LIST round trip after another.
import { AssignmentService, type FileSystem, type ListOptions, type ListPage } from "@proximadb/core";
import { forwarding } from "@proximadb/testing";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { EngineBase } from "../src/index.js";

/** Forwards everything; listings of a `_staging/` folder wait `delayMs`, and the most in flight is kept. */
function slowStaging(inner: FileSystem, seen: { inFlight: number; max: number }): FileSystem {
  const wrapper = forwarding(inner);
  wrapper.list = async function* (prefix: string, opts?: ListOptions): AsyncIterable<ListPage> {
    if (!prefix.endsWith("/_staging/")) {
      yield* inner.list(prefix, opts);
      return;
    }
    seen.inFlight++;
    seen.max = Math.max(seen.max, seen.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      yield* inner.list(prefix, opts);
    } finally {
      seen.inFlight--;
    }
  };
  return wrapper;
}

describeOnBackends("EngineBase staging cleanup at open", ["memory"], (backend) => {
  const env = rootsPerTest<EngineBase>(backend, "disk", 2);

  it("lists the staging folders of many collections at once (at most 16) and removes what it always did", async () => {
    const [r0, r1] = env.tier.urls as [string, string];
    const files = (from: number) => {
      const out: Record<string, string> = {};
      for (let c = from; c < from + 25; c++) {
        out[`c${c}/vectors/1.parquet`] = "x";
        out[`c${c}/_staging/node-a/000000000${c % 10}-old.parquet`] = "own leftover";
      }
      return out;
    };
    await env.tier.write(r0, files(0));
    await env.tier.write(r1, files(100));
    const seen = { inFlight: 0, max: 0 };
    const service = new AssignmentService({ components: { viper: { roots: env.tier.urls } } });
    const engine = await EngineBase.open({
      component: "viper",
      service,
      openFileSystem: (r) => slowStaging(env.tier.openFileSystem(r), seen),
      nodeId: "node-a",
    });
    env.opened.push(engine);
    expect(seen.max).toBeGreaterThan(1);
    expect(seen.max).toBeLessThanOrEqual(16);
    expect(engine.cleanup.removed).toHaveLength(50);
    expect(engine.cleanup.failed).toEqual([]);
    expect(await env.tier.keys(r0, "c0/_staging/")).toEqual([]);
    expect(await env.tier.keys(r1, "c100/_staging/")).toEqual([]);
  });
});
