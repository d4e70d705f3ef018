import { AssignmentService } from "@proximadb/core";
import { randomInt, runAndKill, runTrials, tsChild } from "@proximadb/testing/kill-harness";
import { useKillRoots } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { type WalEncoding, WriteAheadLog } from "../src/index.js";
import { collect } from "./records.js";

const KILL_POINTS = 8;
const child = new URL("./fixtures/fence-child.ts", import.meta.url);

const ack = (line: string) => {
  const m = /^(\S+) (\d+)$/.exec(line);
  return m ? ([m[1] as string, Number(m[2])] as const) : undefined;
};

describe("WriteAheadLog fence under kill -9 (local disk, child process)", () => {
  const env = useKillRoots("fence", 1);

  it(`loses no acknowledged record when killed while fencing, across ${KILL_POINTS} kill points`, async () => {
    const rootUrl = env.roots.urls[0] as string;
    const acked = new Map<string, number>();
    let lastEpoch = 0;
    await runTrials({ trials: KILL_POINTS, seed: 20261202, lanes: 1 }, async ({ index, random }) => {
      const encoding: WalEncoding = index % 2 === 0 ? "bincode" : "avro";
      const killed = await runAndKill(
        tsChild(child, [rootUrl, encoding, String(index), String(lastEpoch + 1)]),
        {
          ack,
          delayMs: randomInt(random, 0, 120),
        },
      );
      for (const [id, seq] of killed.acked) acked.set(id, seq);

      // The next owner: fences above whatever the killed node reached, then replays.
      const service = new AssignmentService({ components: { wal: { roots: [rootUrl] } } });
      const wal = await WriteAheadLog.open({
        service,
        openFileSystem: (r) => env.roots.openFileSystem(r),
        nodeId: "parent",
        requireFence: true,
      });
      await wal.recover("stream", { checkpoint: 0 });
      // The killed node reached some epoch (maybe mid-fence): the next owner fences above it.
      const epoch = wal.epochOf("stream") + 1;
      expect(epoch).toBeGreaterThan(lastEpoch);
      await wal.fence("stream", epoch);
      lastEpoch = epoch;
      const replayed = await collect(wal.replay("stream"));
      await wal.close();
      const bySeq = new Map(replayed.map((r) => [r.sequence, r.id]));
      const seqs = replayed.map((r) => r.sequence);
      expect(new Set(seqs).size, "no sequence replayed twice").toBe(seqs.length);
      expect(
        [...seqs].sort((a, b) => a - b),
        "replayed in sequence order",
      ).toEqual(seqs);
      for (const [id, seq] of acked) expect(bySeq.get(seq), `acknowledged ${id} at ${seq}`).toBe(id);
    });
    expect(acked.size).toBeGreaterThan(0);
    // The children fenced while appending (more than the one fence each run starts with).
    expect(lastEpoch).toBeGreaterThan(2 * KILL_POINTS);
  }, 300_000);
});
