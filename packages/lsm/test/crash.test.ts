import { randomInt, runAndKill, runTrials, tsChild } from "@proximadb/testing/kill-harness";
import { useKillRoots } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { opAt } from "./crash/ops.js";
import { openEngine, scanText } from "./helpers.js";

const ROUNDS = 20;
const child = new URL("./crash/child.ts", import.meta.url);

function apply(model: Map<string, string>, round: number, count: number): Map<string, string> {
  const m = new Map(model);
  for (let i = 0; i < count; i++) {
    const op = opAt(round, i);
    if (op.type === "put") m.set(op.key as string, op.value as string);
    else m.delete(op.key as string);
  }
  return m;
}

describe("crash safety (child process on local disk, SIGKILL at 20 random instants)", () => {
  const env = useKillRoots("lsm", 1);

  it("recovers, after every kill, to the last acknowledged flush or the flush in flight, with nothing else changed", async () => {
    const url = env.roots.urls[0] as string;
    let model = new Map<string, string>();
    // One lane: the model is carried from round to round. Kill instants are seeded (20-419 ms after READY).
    await runTrials({ trials: ROUNDS, seed: 7 }, async ({ index: round, random }) => {
      const { acked: acks } = await runAndKill(tsChild(child, [url, String(round)]), {
        armOn: "READY",
        delayMs: randomInt(random, 20, 420),
        ack: (line) => (line.startsWith("F ") ? Number(line.slice(2)) : undefined),
      });
      const last = acks.at(-1) ?? 0;
      // A kill may land after a flush's commit but before its "F" line: then the next flush point is on disk.
      const acked = apply(model, round, last);
      const nextFlush = Math.min((Math.floor(last / 600) + 1) * 600, (Math.floor(last / 2000) + 1) * 2000);
      const inFlight = apply(model, round, nextFlush);
      const lsm = await openEngine(env.roots, { nodeId: "verifier" });
      const found = new Map(await scanText(lsm, "crashy"));
      const stats = await lsm.stats("crashy");
      await lsm.close({ flush: false });
      const matches = (m: Map<string, string>) =>
        found.size === m.size && [...m].every(([k, v]) => found.get(k) === v);
      if (matches(acked)) model = acked;
      else {
        expect(Object.fromEntries(found)).toEqual(Object.fromEntries(inFlight));
        model = inFlight;
      }
      // Dead compaction inputs and stale staging are gone: only live tables remain under the collection.
      // (A kill before the first flush leaves no file, so discovery finds no collection: no stats.)
      const files = (await env.roots.keys(url)).filter((k) => k.startsWith("crashy/"));
      expect(files.length).toBe(stats?.levels.flat().length ?? 0);
      expect(files.every((k) => /^crashy\/level-\d+\/\d{8}\.sst$/.test(k))).toBe(true);
    });
    expect(model.size).toBeGreaterThan(0);
  }, 90_000);
});
