/**
 * Faults of a three-node cluster (issue #15), through the real binary: a node paused past its lease
 * (SIGSTOP) acknowledges nothing after it resumes, and etcd killed and restarted mid-run pauses writes
 * (503) without losing anything acknowledged or moving any collection.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster, Writers, createCollections, missingAcked, vectorOf } from "./cluster-support.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("a node paused past its TTL while a client writes to it (SIGSTOP, then SIGCONT)", () => {
  let cluster: TestCluster;
  const seen = {
    victimCollections: [] as string[],
    /** Answers of the paused node itself (redirects not followed), with when they came. */
    direct: [] as { status: number; sent: number; at: number; collection: string; id: string }[],
    ownersWhilePaused: new Map<string, { owner: string | null; epoch: number | null }>(),
    stoppedAt: 0,
    resumedAt: 0,
    missing: [] as string[],
    missingAfterRestart: [] as string[],
    acked: 0,
  };

  beforeAll(async () => {
    cluster = await TestCluster.start(["n1", "n2", "n3"]);
    const ids = await createCollections(cluster, 9);
    const victim = cluster.node("n1");
    seen.victimCollections = [...(await cluster.owners()).entries()]
      .filter(([, o]) => o.owner === "n1")
      .map(([id]) => id);
    const writers = new Writers(cluster, ids, 4);
    let running = true;
    let n = 0;
    const direct = (async () => {
      while (running) {
        const collection = seen.victimCollections[n % seen.victimCollections.length] as string;
        const id = `d-${n++}`;
        const sent = Date.now();
        const pending = fetch(`${victim.url}/collections/${collection}/records`, {
          method: "POST",
          redirect: "manual",
          body: JSON.stringify({ records: [{ id, vector: vectorOf(n) }] }),
          headers: { "content-type": "application/json" },
          signal: AbortSignal.timeout(30_000),
        }).then(
          async (res) => {
            await res.text();
            seen.direct.push({ status: res.status, sent, at: Date.now(), collection, id });
          },
          () => undefined,
        );
        // Several requests in flight while it is paused; one at a time otherwise.
        await Promise.race([pending, sleep(200)]);
      }
    })();
    await sleep(1500);
    victim.child.kill("SIGSTOP");
    seen.stoppedAt = Date.now();
    await cluster.waitFor(async () => {
      const owners = await cluster.owners(cluster.node("n2"));
      seen.ownersWhilePaused = owners;
      return seen.victimCollections.every((c) => {
        const o = owners.get(c)?.owner;
        return o !== undefined && o !== null && o !== "n1";
      });
    }, "the paused node's collections taken over");
    await sleep(1000);
    seen.resumedAt = Date.now();
    victim.child.kill("SIGCONT");
    await sleep(3000);
    running = false;
    await direct;
    await writers.stop();
    await sleep(500);
    const acked = new Map(writers.acked);
    for (const d of seen.direct.filter((x) => x.status === 200)) {
      const list = acked.get(d.collection) ?? [];
      list.push({ id: d.id, at: d.at, url: victim.url });
      acked.set(d.collection, list);
    }
    seen.acked = [...acked.values()].reduce((s, l) => s + l.length, 0);
    seen.missing = await missingAcked(cluster, acked);
    // Every node restarted: each replays what the owners' epochs allow (a stale write never wins).
    for (const name of ["n1", "n2", "n3"]) await cluster.node(name).stop("SIGTERM");
    for (const name of ["n1", "n2", "n3"]) await cluster.startNode(name);
    seen.missingAfterRestart = await missingAcked(cluster, acked);
    console.log(
      `SIGSTOP: paused node answered ${seen.direct.length} direct writes (${seen.direct.filter((d) => d.status === 200).length} acknowledged, ${seen.direct.filter((d) => d.sent > seen.stoppedAt).length} sent after SIGSTOP: statuses ${JSON.stringify([...new Set(seen.direct.filter((d) => d.sent > seen.stoppedAt).map((d) => d.status))])}; answered after resume with 200: ${seen.direct.filter((d) => d.at > seen.resumedAt && d.status === 200).length}); acknowledged records checked: ${seen.acked}`,
    );
  }, 180_000);
  afterAll(async () => cluster?.stop());

  it("the paused node owned collections and acknowledged writes before the pause", () => {
    expect(seen.victimCollections.length).toBeGreaterThan(0);
    expect(seen.direct.some((d) => d.status === 200 && d.at < seen.resumedAt)).toBe(true);
  });

  it("its collections get other owners while it is paused", () => {
    for (const c of seen.victimCollections) expect(seen.ownersWhilePaused.get(c)?.owner).not.toBe("n1");
  });

  // A write it decided (durable, still the owner) in the instant before the pause may be answered after
  // it; that record is in what the new owner replayed (checked below). Nothing sent to it after the
  // pause began is acknowledged: it could only have read those requests after resuming.
  it("answers the writes sent while it was paused, after resuming, and acknowledges none of them", () => {
    const held = seen.direct.filter((d) => d.sent > seen.stoppedAt && d.sent < seen.resumedAt);
    expect(held.length).toBeGreaterThan(0);
    for (const d of held) expect([307, 503]).toContain(d.status);
  });

  it("acknowledges none of the writes sent to it after it resumed", () => {
    const after = seen.direct.filter((d) => d.sent > seen.resumedAt);
    expect(after.length).toBeGreaterThan(0);
    for (const d of after) expect([307, 503]).toContain(d.status);
  });

  it("loses no record acknowledged by anyone (the new owners' included)", () => {
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.missing).toEqual([]);
  });

  it("still has every acknowledged record after all three nodes restarted", () => {
    expect(seen.missingAfterRestart).toEqual([]);
  });
});

describe("etcd killed and restarted mid-run", () => {
  let cluster: TestCluster;
  const seen = {
    before: new Map<string, { owner: string | null; epoch: number | null }>(),
    after: new Map<string, { owner: string | null; epoch: number | null }>(),
    killedAt: 0,
    restartedAt: 0,
    ackedWhileDown: 0,
    unavailableWhileDown: 0,
    acked: 0,
    missing: [] as string[],
  };

  beforeAll(async () => {
    cluster = await TestCluster.start(["n1", "n2", "n3"]);
    const ids = await createCollections(cluster, 9);
    seen.before = await cluster.owners();
    const writers = new Writers(cluster, ids, 4);
    await sleep(1500);
    seen.killedAt = Date.now();
    const before503 = writers.statuses.get(503) ?? 0;
    await cluster.etcd.kill();
    await sleep(3 * cluster.leaseTtlMs);
    seen.restartedAt = Date.now();
    seen.unavailableWhileDown = (writers.statuses.get(503) ?? 0) - before503;
    await cluster.etcd.restart();
    await cluster.waitFor(
      () => ids.every((c) => (writers.acked.get(c) ?? []).some((a) => a.at > seen.restartedAt)),
      "every collection written again after etcd came back",
    );
    await writers.stop();
    // The lease deadline is at most one TTL after the last keepalive, which was before the kill.
    const deadline = seen.killedAt + cluster.leaseTtlMs;
    for (const list of writers.acked.values())
      seen.ackedWhileDown += list.filter((a) => a.at > deadline && a.at < seen.restartedAt).length;
    // Each node's view comes from its own watch, which resumes on its own backoff (up to 2 s) after
    // etcd is back: a write acknowledged by the new epoch's owner may come before a peer's view of it.
    const viewsFrom = Date.now();
    await cluster.waitFor(async () => {
      const views = await Promise.all(cluster.live().map((n) => cluster.owners(n)));
      return [...seen.before].every(([c, o]) =>
        views.every((v) => (v.get(c)?.epoch ?? 0) > (o.epoch as number)),
      );
    }, "every node's view shows a raised epoch for every collection");
    const viewLagMs = Date.now() - viewsFrom;
    seen.after = await cluster.owners();
    seen.acked = writers.count;
    seen.missing = await missingAcked(cluster, writers.acked);
    if (seen.missing.length > 0) {
      const lost = new Set(seen.missing.map((m) => m.split("/")[0] as string));
      console.log(`missing ${seen.missing.length}, node logs:\n${cluster.logsAbout(lost).join("\n")}`);
    }
    console.log(
      `etcd down ${seen.restartedAt - seen.killedAt} ms: ${seen.unavailableWhileDown} writes answered 503, ${seen.ackedWhileDown} acknowledged past the lease deadline; acknowledged records checked: ${seen.acked}; views caught up ${viewLagMs} ms after the writers stopped`,
    );
  }, 180_000);
  afterAll(async () => cluster?.stop());

  it("answers writes 503 while etcd is down, and acknowledges none past the lease deadline", () => {
    expect(seen.unavailableWhileDown).toBeGreaterThan(0);
    expect(seen.ackedWhileDown).toBe(0);
  });

  it("keeps every collection with its owner once etcd is back (a new epoch each)", () => {
    expect([...seen.after.keys()].sort()).toEqual([...seen.before.keys()].sort());
    for (const [c, o] of seen.before) {
      expect(seen.after.get(c)?.owner).toBe(o.owner);
      expect(seen.after.get(c)?.epoch).toBeGreaterThan(o.epoch as number);
    }
  });

  it("loses no acknowledged record", () => {
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.missing).toEqual([]);
  });

  it("never tried to adopt a collection while its create claimed it (no definition-less acquisitions)", () => {
    const lines = [...cluster.nodes.values()].flatMap((n) => n.logs);
    expect(lines.some((l) => l.includes('"collection created"'))).toBe(true);
    expect(lines.filter((l) => l.includes("acquired a collection without a definition"))).toEqual([]);
  });
});
