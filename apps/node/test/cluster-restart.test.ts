/**
 * Rolling restart of a three-node cluster under load (issue #15): each node in turn gets SIGTERM
 * (sync, hand its collections off at once, exit 0) and starts again; nothing acknowledged is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster, Writers, createCollections, missingAcked } from "./cluster-support.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("rolling restart of all three nodes under load", () => {
  let cluster: TestCluster;
  const seen = {
    exits: [] as unknown[],
    handoffMs: [] as number[],
    handedOff: [] as boolean[],
    owners: new Map<string, { owner: string | null; epoch: number | null }>(),
    acked: 0,
    missing: [] as string[],
  };

  beforeAll(async () => {
    cluster = await TestCluster.start(["n1", "n2", "n3"]);
    const ids = await createCollections(cluster, 12);
    const writers = new Writers(cluster, ids, 4);
    await sleep(1000);
    for (const name of ["n1", "n2", "n3"]) {
      const owned = [...(await cluster.owners()).entries()]
        .filter(([, o]) => o.owner === name)
        .map(([id]) => id);
      const node = cluster.node(name);
      const t0 = Date.now();
      seen.exits.push(await node.stop("SIGTERM"));
      seen.handedOff.push(node.logs.some((l) => l.includes('"collections handed off"')));
      await cluster.waitFor(
        () => owned.every((c) => (writers.acked.get(c) ?? []).some((a) => a.at > t0)),
        `${name}'s collections written again`,
      );
      for (const c of owned) {
        const first = (writers.acked.get(c) ?? []).find((a) => a.at > t0);
        if (first) seen.handoffMs.push(first.at - t0);
      }
      await cluster.startNode(name);
      await sleep(1000);
    }
    await writers.stop();
    seen.owners = await cluster.owners();
    seen.acked = writers.count;
    seen.missing = await missingAcked(cluster, writers.acked);
    const sorted = [...seen.handoffMs].sort((a, b) => a - b);
    console.log(
      `rolling restart: SIGTERM → first acknowledged write on the new owner n=${sorted.length} median=${sorted[Math.floor(sorted.length / 2)]} ms max=${sorted[sorted.length - 1]} ms (TTL 2000 ms); acknowledged records checked: ${seen.acked}`,
    );
  }, 240_000);
  afterAll(async () => cluster?.stop());

  it("exits 0 on SIGTERM, each node", () => {
    expect(seen.exits).toEqual([0, 0, 0]);
  });

  it("hands its collections off at SIGTERM (released, not left to expire)", () => {
    expect(seen.handedOff).toEqual([true, true, true]);
  });

  it("leaves every collection with a live owner", () => {
    expect(seen.owners.size).toBe(12);
    for (const o of seen.owners.values()) expect(["n1", "n2", "n3"]).toContain(o.owner);
  });

  it("loses no acknowledged record", () => {
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.missing).toEqual([]);
  });
});
