import {
  crashChildFiles,
  killLiveChildren,
  lastJsonLine,
  nodeChild,
  runChild,
} from "@proximadb/testing/kill-harness";
import { seededRandom } from "@proximadb/testing/random";
import { useBackend } from "@proximadb/testing-backends";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { VectorRecord } from "../src/index.js";
import { expected, makeRecords, openViper, plain, scanAll } from "./helpers.js";

// The child (test/crash/child.ts, runnable as `node --conditions=@proximadb/source --import tsx child.ts`) is
// bundled once with esbuild: 20 spawns then cost a fifth of the CPU that tsx's per-module transform does.
const child = crashChildFiles(import.meta.url, "viper-crash-child", ["parquet-wasm"]);
const { packageDir, outfile: childBundle } = child;

// parquet-wasm loads its .wasm from its own folder
beforeAll(async () => {
  await build(child.bundle);
});

describe("a crash at any instant of a compaction", () => {
  const local = useBackend("local");
  afterAll(() => {
    killLiveChildren();
  });

  it("leaves exactly the flushed records readable (20 SIGKILLs at random points) and no staging after the next open", async () => {
    const seed = 20240611;
    const random = seededRandom(seed);
    const fixture = await local.roots("root", 1);
    const rootUrl = fixture.urls[0] as string;
    const batches: VectorRecord[][] = [];
    /** Flushes a batch and returns the live file keys afterwards. */
    const flush = async (batch: VectorRecord[]): Promise<string[]> => {
      const viper = await openViper(fixture, "crash-node");
      try {
        await viper.flush("victim", batch);
        batches.push(batch);
        return (await viper.files("victim"))?.live.map((f) => f.key) ?? [];
      } finally {
        await viper.close();
      }
    };
    for (let i = 0; i < 4; i++) await flush(makeRecords(250, 8, { seed: i + 1, start: i * 120 }));
    // Mutating storage calls of one compaction here (3 staged parts, 3 moves, 1 delete of the inputs),
    // refined whenever a child gets to the end because the kill point was past its last call.
    let opsPerCompaction = 7;
    let kills = 0;
    for (let round = 0; kills < 20 && round < 30; round++) {
      // New work each round: fresh ids, overwrites of old ones and a few tombstones.
      const start = Math.floor(random() * 600);
      const tombstones = Array.from({ length: 5 }, (_, i) => ({
        id: `rec-${(start + i * 37) % 700}`,
        deleted: true,
      }));
      const before = await flush([...makeRecords(60, 8, { seed: 100 + round, start }), ...tombstones]);
      const killAt = 1 + Math.floor(random() * opsPerCompaction);
      const when = random() < 0.5 ? "before" : "after";
      // The child SIGKILLs itself at its kill point, or compacts to the end and prints {"ops":N}.
      const run = await runChild(
        nodeChild(childBundle, [rootUrl, "victim", String(killAt), when, "12000"], { cwd: packageDir }),
        { expect: "any", timeoutMs: 60_000, stderrTailChars: Number.POSITIVE_INFINITY },
      );
      if (run.signal === "SIGKILL") kills++;
      else {
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        opsPerCompaction = Math.max(1, lastJsonLine<{ ops: number }>(run).ops);
      }
      // Restart: the same node opens the root again.
      const viper = await openViper(fixture, "crash-node");
      try {
        const keys = await fixture.keys(viper.locate("victim")?.url as string, "victim/");
        expect(
          keys.filter((k) => k.includes("/_staging/")),
          `round ${round}: staging after open`,
        ).toEqual([]);
        // Old set or new set, never a mix: either the live files are exactly those before the
        // compaction, or they are all of one complete, newer compaction generation.
        const live = (await viper.files("victim"))?.live ?? [];
        const keysNow = live.map((f) => f.key);
        if (JSON.stringify(keysNow) !== JSON.stringify(before)) {
          const generations = new Set(live.map((f) => f.generation));
          expect(generations.size, `round ${round}: live files ${keysNow.join(", ")}`).toBe(1);
          expect(live.every((f) => f.generation > 0 && !before.includes(f.key))).toBe(true);
        }
        const got = await scanAll(viper, "victim");
        expect(got, `round ${round} (seed ${seed}, kill ${when} op ${killAt})`).toEqual(
          plain(expected(batches).values()),
        );
        expect(await viper.count("victim")).toBe(got.length);
      } finally {
        await viper.close();
      }
    }
    expect(kills).toBe(20);
  }, 240_000);
});
