import { AssignmentService } from "@proximadb/core";
import { randomInt, runAndKill, runTrials, tsChild } from "@proximadb/testing/kill-harness";
import { useKillRoots } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { type WalEncoding, type WalRecord, WriteAheadLog } from "../src/index.js";
import { childEntry } from "./fixtures/child-records.js";
import { collect } from "./records.js";

const KILL_POINTS = 20;
const LANES = 2;
const child = new URL("./fixtures/append-child.ts", import.meta.url);

/** An acknowledgement line of the child, `<id> <sequence>` (printed once its append resolved). */
const ack = (line: string) => {
  const m = /^(\S+) (\d+)$/.exec(line);
  return m ? ([m[1] as string, Number(m[2])] as const) : undefined;
};

/** True when `r` is exactly what the child appended under its id. */
function sameAsAppended(r: WalRecord): boolean {
  const m = /^r(\d+)-(\d+)$/.exec(r.id);
  if (!m) return false;
  const want = childEntry(Number(m[1]), Number(m[2]));
  if (
    r.op !== want.op ||
    r.timestamp !== want.timestamp ||
    r.collection !== "stream" ||
    r.payload !== undefined
  )
    return false;
  if (JSON.stringify(r.metadata) !== JSON.stringify(want.metadata)) return false;
  const a = r.vector;
  const b = want.vector;
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe("WriteAheadLog under kill -9 (local disk, child process)", () => {
  const env = useKillRoots("lane", ["a", "b"]); // one root per lane

  it(`replays every acknowledged record, nothing else and no duplicates, across ${KILL_POINTS} random kill points`, async () => {
    // Two lanes side by side (one per core), each with its own root and its kill points in a row; the WAL
    // is reopened and checked after each.
    const acked = Array.from({ length: LANES }, () => new Map<string, number>()); // every acknowledgement of every run
    const cut = Array.from({ length: LANES }, () => 0);
    const replayedCount = Array.from({ length: LANES }, () => 0);
    await runTrials(
      { trials: KILL_POINTS, seed: 20240611, lanes: LANES },
      async ({ index, lane, random }) => {
        const run = Math.floor(index / LANES);
        const name = lane === 0 ? "a" : "b";
        const rootUrl = env.roots.urls[lane] as string;
        const laneAcked = acked[lane] as Map<string, number>;
        const encoding: WalEncoding = run % 2 === 0 ? "bincode" : "avro";
        const t0 = Date.now();
        const killed = await runAndKill(tsChild(child, [rootUrl, encoding, String(run)]), {
          ack,
          delayMs: randomInt(random, 0, 150),
        });
        for (const [id, seq] of killed.acked) laneAcked.set(id, seq);
        const t1 = Date.now();

        const service = new AssignmentService({ components: { wal: { roots: [rootUrl] } } });
        const wal = await WriteAheadLog.open({
          service,
          openFileSystem: (r) => env.roots.openFileSystem(r),
          nodeId: "parent",
          onCorruption: () => {
            cut[lane] = (cut[lane] as number) + 1;
          },
        });
        const replayed = await collect(wal.replay("stream"));
        await wal.close();
        replayedCount[lane] = replayed.length;
        if (process.env.KILL9_DEBUG)
          console.error(
            `${name} run ${run}: child ${t1 - t0} ms, verify ${Date.now() - t1} ms, ${replayed.length} records`,
          );

        // No duplicates; strictly increasing sequences.
        const seqs = replayed.map((r) => r.sequence);
        expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number))).toBe(true);
        expect(new Set(replayed.map((r) => r.id)).size).toBe(replayed.length);
        // Nothing else: every replayed record is exactly one the child appended (checked by hand:
        // a vitest matcher per record would stall the event loop that times the other lane's kill).
        const wrong = replayed.filter((r) => !sameAsAppended(r)).map((r) => r.id);
        expect(wrong).toEqual([]);
        // Every acknowledged record, with the sequence it was acknowledged with.
        const bySeq = new Map(replayed.map((r) => [r.id, r.sequence]));
        const missing = [...laneAcked].filter(([id, seq]) => bySeq.get(id) !== seq);
        expect(missing).toEqual([]);
      },
    );
    const lanes = acked.map((a, l) => ({
      acked: a.size,
      replayed: replayedCount[l] as number,
      cut: cut[l] as number,
    }));
    for (const l of lanes) {
      expect(l.acked).toBeGreaterThan(KILL_POINTS / LANES);
      expect(l.replayed).toBeGreaterThanOrEqual(l.acked);
    }
    console.log(`kill -9: ${KILL_POINTS} kill points, ${JSON.stringify(lanes)}`);
  }, 120_000); // ~20 s on an idle 2-core machine; child start-up (tsx) dominates
});
