import fc from "fast-check";
import { useBackend } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import type { LsmEngine } from "../src/index.js";
import { openEngine, scanText, text } from "./helpers.js";

type Op =
  | { op: "put"; key: string; value: string }
  | { op: "delete"; key: string }
  | { op: "get"; key: string }
  | { op: "scan"; gte?: string; lt?: string; limit?: number }
  | { op: "flush" }
  | { op: "compact" }
  | { op: "reopen"; flush: boolean };

// Few, prefix-sharing keys: collisions, shadowing and prefix compression all happen often.
const key = fc.constantFrom(
  "",
  "a",
  "aa",
  "ab",
  "abc",
  "b",
  "ba",
  "c",
  "ca",
  "cab",
  "d",
  "\u00ff",
  "\u00ff\u00ff",
);
const value = fc.string({ maxLength: 12 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("put" as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("get" as const), key }) },
  {
    weight: 2,
    arbitrary: fc.record(
      { op: fc.constant("scan" as const), gte: key, lt: key, limit: fc.integer({ min: 0, max: 6 }) },
      { requiredKeys: ["op"] },
    ),
  },
  { weight: 2, arbitrary: fc.constant({ op: "flush" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "compact" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("reopen" as const), flush: fc.boolean() }) },
);

function modelScan(
  model: Map<string, string>,
  r: { gte?: string; lt?: string; limit?: number },
): [string, string][] {
  const enc = new TextEncoder();
  const cmp = (a: string, b: string) => Buffer.compare(enc.encode(a), enc.encode(b));
  const rows = [...model.entries()]
    .filter(([k]) => (r.gte === undefined || cmp(k, r.gte) >= 0) && (r.lt === undefined || cmp(k, r.lt) < 0))
    .sort(([a], [b]) => cmp(a, b));
  return rows.slice(0, r.limit ?? rows.length);
}

describe("LsmEngine against a Map model (fast-check, memfs)", () => {
  const memory = useBackend("memory");

  it("agrees with the model on random put/delete/get/scan/flush/compact/reopen sequences; reopen without flush reverts to the last flush", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        const tier = await memory.roots("lsm", 1);
        // Tiny blocks and fanout 2: multi-block tables, restarts and compaction cascades on a handful of keys.
        // The memtable never fills on its own, so the model knows exactly what was flushed.
        const options = { blockBytes: 64, levelFanout: 2, memtableBytes: 1 << 30 };
        let lsm: LsmEngine = await openEngine(tier, options);
        let live = new Map<string, string>();
        let flushed = new Map<string, string>();
        try {
          for (const o of ops) {
            switch (o.op) {
              case "put":
                await lsm.put("c", o.key, o.value);
                live.set(o.key, o.value);
                break;
              case "delete":
                await lsm.delete("c", o.key);
                live.delete(o.key);
                break;
              case "get":
                expect(text(await lsm.get("c", o.key))).toBe(live.get(o.key));
                break;
              case "scan":
                expect(await scanText(lsm, "c", o)).toEqual(modelScan(live, o));
                break;
              case "flush":
              case "compact":
                await (o.op === "flush" ? lsm.flush("c") : lsm.compact("c"));
                flushed = new Map(live);
                break;
              case "reopen":
                await lsm.close({ flush: o.flush });
                if (o.flush) flushed = new Map(live);
                else live = new Map(flushed);
                lsm = await openEngine(tier, options);
                break;
            }
          }
          expect(await scanText(lsm, "c")).toEqual(modelScan(live, {}));
        } finally {
          await lsm.close({ flush: false });
          await tier.cleanup(); // a test runs many properties: remove each one's roots at once
        }
      }),
      { numRuns: 1000 },
    );
  }, 120_000);
});
