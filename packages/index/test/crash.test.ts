import { listAll } from "@proximadb/core";
import { crashChildFiles, lastJsonLine, nodeChild, runChild } from "@proximadb/testing/kill-harness";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { indexFiles } from "../src/index.js";
import { CRASH_DIM, CRASH_IDS, applyChanges, roundChanges } from "./crash/ops.js";
import { keysOf, localRoots, openIndex, rng } from "./helpers.js";

// The child is bundled once with esbuild (cheaper to spawn than tsx's per-module transform). It loads the
// native hnswlib-node from the package's node_modules, next to the bundle.
const child = crashChildFiles(import.meta.url, "index-crash-child", ["hnswlib-node"]);
const { packageDir, outfile: childBundle } = child;

beforeAll(async () => {
  await build(child.bundle);
});

describe("a crash at any instant of a save or a compaction", () => {
  it("leaves the old index or the new one, never a mix, never a mismatched pair (12 SIGKILLs at random points)", async () => {
    const seed = 20261201;
    const random = rng(seed);
    const fixture = await localRoots(1);
    const rootUrl = fixture.urls[0] as string;
    try {
      let model = applyChanges(new Map(), roundChanges(0));
      {
        const index = await openIndex(fixture, { nodeId: "crash-node" });
        await index.create("victim", {
          dimension: CRASH_DIM,
          metric: "l2",
          m: 8,
          efConstruction: 64,
          efSearch: 64,
        });
        await index.add("victim", roundChanges(0).adds);
        await index.close();
      }
      // Mutating storage calls of one save (stage + commit .hnsw, stage + commit .idx, delete the old pair),
      // refined whenever a child gets to the end because the kill point was past its last call.
      const opsPer = { flush: 6, compact: 6 };
      let kills = 0;
      for (let round = 1; kills < 12 && round <= 30; round++) {
        const mode = round % 2 === 0 ? "compact" : "flush";
        const after = applyChanges(model, roundChanges(round));
        const killAt = 1 + Math.floor(random() * opsPer[mode]);
        const when = random() < 0.5 ? "before" : "after";
        const label = `round ${round} (seed ${seed}, ${mode}, kill ${when} op ${killAt})`;
        const child = await runChild(
          nodeChild(childBundle, [rootUrl, "victim", String(round), mode, String(killAt), when], {
            cwd: packageDir,
          }),
          { expect: "any", timeoutMs: 60_000, stderrTailChars: Number.POSITIVE_INFINITY },
        );
        if (child.signal === "SIGKILL") kills++;
        else {
          expect(child.stderr, label).toBe("");
          expect(child.code, label).toBe(0);
          opsPer[mode] = Math.max(1, lastJsonLine<{ ops: number }>(child).ops);
        }
        const index = await openIndex(fixture, { nodeId: "crash-node" });
        try {
          const fs = index.locate("victim")?.fs;
          expect(fs, label).toBeDefined();
          const keys = await keysOf(fs as never, "victim/");
          expect(
            keys.filter((k) => k.includes("/_staging/")),
            `${label}: staging after open`,
          ).toEqual([]);
          const files = indexFiles("victim/", (await listAll(fs as never, "victim/")).files);
          expect(files.live, `${label}: ${keys.join(", ")}`).toBeDefined();
          // Loading checks the pair (the .idx names the .hnsw's size and CRC-32): a mismatch would throw here.
          const stats = await index.stats("victim");
          const live = new Set<string>();
          for (let i = 0; i < CRASH_IDS; i++) if (await index.has("victim", `v${i}`)) live.add(`v${i}`);
          const isOld = sameKeys(live, model);
          const isNew = sameKeys(live, after);
          expect(isOld || isNew, `${label}: live ids are neither the old set nor the new one`).toBe(true);
          const chosen = isNew ? after : model;
          if (child.signal !== "SIGKILL")
            expect(isNew, `${label}: a finished save must be visible`).toBe(true);
          expect(stats.count, label).toBe(chosen.size);
          // Every live record is found at distance 0 by its own vector: the graph is the id map's generation.
          for (const [id, vector] of chosen) {
            const [hit] = await index.search("victim", vector, { k: 1, ef: 64 });
            expect(hit?.score, `${label}: ${id}`).toBeCloseTo(0, 4);
          }
          for (const d of roundChanges(round).deletes)
            if (!chosen.has(d)) expect(await index.has("victim", d)).toBe(false);
          model = chosen;
        } finally {
          await index.close({ flush: false });
        }
      }
      expect(kills).toBe(12);
    } finally {
      await fixture.dispose();
    }
  }, 600_000);
});

function sameKeys(a: ReadonlySet<string>, b: ReadonlyMap<string, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}
