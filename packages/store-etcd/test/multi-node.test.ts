import { startEtcd } from "@proximadb/testing/emulators/etcd";
import { killLiveChildren, lastJsonLine, runChild, tsChild } from "@proximadb/testing/kill-harness";
import { Etcd3 } from "etcd3";
import { afterAll, describe, expect, inject, it } from "vitest";

const script = new URL("./fixtures/node.ts", import.meta.url);
const COUNT = 5000;

// A failed test leaves no node process behind (the others of its Promise.all keep running otherwise).
afterAll(() => {
  killLiveChildren();
});

interface NodeResult {
  map: Record<string, string>;
  created: number;
  unavailable: number;
}

/**
 * Runs one storage node in its own process (tsx), placing COUNT collections in the order of `seed`. A node
 * that fails or hangs (killed after 55 s, inside the test's 60 s) rejects with its stderr tail.
 */
async function runNode(endpoint: string, cluster: string, seed: number): Promise<NodeResult> {
  const run = await runChild(tsChild(script, [endpoint, cluster, String(COUNT), String(seed)]), {
    timeoutMs: 55_000,
  });
  return lastJsonLine<NodeResult>(run);
}

async function checkEtcd(
  endpoint: string,
  cluster: string,
): Promise<{ versions: Set<string>; counter: string | null; keys: number }> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    const res = await client.getAll().prefix(`/proximadb/${cluster}/assignments/wal/`).exec();
    const counter = await client.get(`/proximadb/${cluster}/counters/wal`).string();
    return { versions: new Set(res.kvs.map((kv) => kv.version)), counter, keys: res.kvs.length };
  } finally {
    client.close();
  }
}

function expectAgreement(results: NodeResult[]): void {
  const [first] = results as [NodeResult];
  expect(Object.keys(first.map)).toHaveLength(COUNT);
  for (const r of results) expect(r.map).toEqual(first.map);
  const counts = new Map<string, number>();
  for (const url of Object.values(first.map)) counts.set(url, (counts.get(url) ?? 0) + 1);
  expect(counts.size).toBe(3);
  expect(Math.max(...counts.values()) - Math.min(...counts.values())).toBeLessThanOrEqual(1);
}

describe("three node processes sharing one etcd", () => {
  it("place the same 5,000 collections concurrently in different orders: one root each, identical everywhere, counts within 1", async () => {
    const endpoint = inject("etcdEndpoint");
    const cluster = `multi-${process.pid}-${Date.now()}`;
    const results = await Promise.all([1, 2, 3].map((seed) => runNode(endpoint, cluster, seed)));
    expectAgreement(results);
    expect(results.reduce((n, r) => n + r.created, 0)).toBe(COUNT);
    const etcd = await checkEtcd(endpoint, cluster);
    expect(etcd.keys).toBe(COUNT);
    expect([...etcd.versions]).toEqual(["1"]); // never overwritten
    expect(etcd.counter).toBe(String(COUNT)); // one ticket per placement
  });

  it("survive etcd being killed (SIGKILL) and restarted mid-run: no divergence, no duplicate placement, work resumes", async () => {
    const etcd = await startEtcd();
    try {
      const cluster = `crash-${process.pid}`;
      const client = new Etcd3({ hosts: etcd.endpoint });
      const run = Promise.all([4, 5, 6].map((seed) => runNode(etcd.endpoint, cluster, seed)));
      // Kill once a part of the collections is placed, so the crash lands mid-run.
      for (;;) {
        const n = Number(
          (await client
            .get(`/proximadb/${cluster}/counters/wal`)
            .string()
            .catch(() => null)) ?? 0,
        );
        if (n >= COUNT / 5) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      client.close();
      await etcd.kill();
      // Down for longer than the clients' bounded retries, so callers see StoreUnavailableError.
      await new Promise((r) => setTimeout(r, 1500));
      await etcd.restart();
      const results = await run;
      expectAgreement(results);
      expect(results.reduce((n, r) => n + r.created, 0)).toBeLessThanOrEqual(COUNT);
      expect(results.reduce((n, r) => n + r.unavailable, 0)).toBeGreaterThan(0); // the outage was felt
      const state = await checkEtcd(etcd.endpoint, cluster);
      expect(state.keys).toBe(COUNT);
      expect([...state.versions]).toEqual(["1"]);
      expect(state.counter).toBe(String(COUNT));
    } finally {
      await etcd.stop();
    }
  });
});
