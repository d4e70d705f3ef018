import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  HashStrategy,
  type CollectionId,
  InvalidArgumentError,
  type RebalanceComponentInput,
  type RebalanceRootInput,
  type RootView,
  planRebalance,
  xxh64,
} from "../src/index.js";

const url = (i: number) => `file:///mnt/disk${i + 1}/viper`;
const roots = (n: number, extra: Partial<RebalanceRootInput>[] = []): RebalanceRootInput[] =>
  Array.from({ length: n }, (_, i) => ({ url: url(i), state: "active" as const, ...extra[i] }));

/** Where pure rendezvous places each id over the first `n` roots. */
function hashed(ids: string[], n: number): { collection: string; url: string; bytes: number }[] {
  const views: RootView[] = Array.from({ length: n }, (_, i) => ({
    url: url(i),
    index: i,
    state: "active",
    weight: 1,
    collections: 0,
    bytes: undefined,
    hash: xxh64(url(i)),
  }));
  const hash = new HashStrategy();
  return ids.map((id) => ({
    collection: id,
    url: url(hash.choose(id as CollectionId, { component: "viper", roots: views, cursor: 0 })),
    bytes: 1000,
  }));
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `collection-${String(i).padStart(4, "0")}`);

describe("planRebalance: affinity (Hash)", () => {
  const collections = hashed(ids(400), 3);
  const plan = planRebalance({
    components: [{ component: "viper", strategy: "Hash", roots: roots(4), collections }],
    by: "count",
    maxMisplacedRatio: 1,
  });

  it("adding a 4th root to 400 hashed collections moves within 10% of 100 of them", () => {
    expect(plan.moves.length).toBeGreaterThanOrEqual(90);
    expect(plan.moves.length).toBeLessThanOrEqual(110);
  });

  it("moves them all onto the new root", () => {
    for (const m of plan.moves) expect(m.to).toBe(url(3));
  });

  it("moves each collection to where rendezvous over the 4 roots now points", () => {
    const now = new Map(hashed(ids(400), 4).map((c) => [c.collection, c.url]));
    for (const m of plan.moves) expect(now.get(m.collection)).toBe(m.to);
  });

  it("plans nothing when the roots are within the threshold", () => {
    const p = planRebalance({
      components: [{ component: "viper", strategy: "Hash", roots: roots(3), collections }],
      by: "count",
      threshold: 0.2,
    });
    expect(p.moves).toEqual([]);
  });

  it("leaves a collection whose home is offline where it is", () => {
    const p = planRebalance({
      components: [
        {
          component: "viper",
          strategy: "Hash",
          roots: roots(4, [{}, {}, {}, { state: "offline" }]),
          collections,
        },
      ],
      by: "count",
    });
    expect(p.moves).toEqual([]);
    expect(p.offline).toEqual([{ component: "viper", url: url(3) }]);
  });
});

describe("planRebalance: greedy (RoundRobin / LeastUsed)", () => {
  const skewed: RebalanceComponentInput = {
    component: "lsm",
    strategy: "RoundRobin",
    roots: roots(3),
    collections: [
      ...Array.from({ length: 30 }, (_, i) => ({ collection: `a${i}`, url: url(0), bytes: 100 + i })),
      ...Array.from({ length: 10 }, (_, i) => ({ collection: `b${i}`, url: url(1), bytes: 100 + i })),
    ],
  };

  it("brings every active root within the threshold of its target", () => {
    const p = planRebalance({ components: [skewed], threshold: 0.1 });
    expect(p.after.components.lsm?.balanced).toBe(true);
    expect(p.before.components.lsm?.balanced).toBe(false);
    for (const r of p.after.components.lsm?.roots ?? [])
      expect(Math.abs(r.deviation as number)).toBeLessThanOrEqual(0.1);
  });

  it("never moves to a cordoned or full root, nor from an offline one", () => {
    const input: RebalanceComponentInput = {
      ...skewed,
      roots: roots(4, [{}, { state: "cordoned" }, { state: "full" }, {}]),
      collections: [...skewed.collections, { collection: "z", url: url(2), bytes: 10_000 }],
    };
    const p = planRebalance({
      components: [input, { ...skewed, component: "wal", roots: roots(3, [{ state: "offline" }]) }],
    });
    for (const m of p.moves) {
      if (m.component === "lsm") expect([url(1), url(2)]).not.toContain(m.to);
      if (m.component === "wal") expect([m.from, m.to]).not.toContain(url(0));
    }
    expect(p.moves.some((m) => m.component === "wal")).toBe(true);
    expect(p.moves.some((m) => m.component === "lsm" && m.from === url(1))).toBe(false);
  });

  it("moves every collection off a cordoned root with evacuateCordoned", () => {
    const p = planRebalance({
      components: [{ ...skewed, roots: roots(3, [{ state: "cordoned" }]) }],
      evacuateCordoned: true,
    });
    expect(p.after.components.lsm?.roots[0]?.collections).toBe(0);
  });

  it("honours weights: a weight-2 root ends with about twice the bytes", () => {
    const p = planRebalance({
      components: [{ ...skewed, roots: roots(3, [{}, {}, { weight: 2 }]) }],
      threshold: 0.05,
    });
    const after = p.after.components.lsm?.roots ?? [];
    expect(after[2]?.bytes).toBeGreaterThan(1.7 * (after[0]?.bytes as number));
  });

  it("never takes a root past fullRatio of its capacity_bytes", () => {
    const p = planRebalance({
      components: [{ ...skewed, roots: roots(3, [{}, {}, { capacityBytes: 500, usedBytes: 0 }]) }],
    });
    expect(p.after.components.lsm?.roots[2]?.bytes).toBeLessThanOrEqual(0.95 * 500);
  });

  it("balances by count when asked, moving the smallest collections", () => {
    const p = planRebalance({ components: [skewed], by: "count" });
    const after = p.after.components.lsm?.roots.map((r) => r.collections);
    expect(after).toEqual([14, 13, 13]);
  });

  it("batches so one batch moves at most 5% of all bytes (a bigger move alone)", () => {
    const p = planRebalance({ components: [skewed] });
    const total = skewed.collections.reduce((n, c) => n + c.bytes, 0);
    const perBatch = new Map<number, number>();
    for (const m of p.moves) perBatch.set(m.batch, (perBatch.get(m.batch) ?? 0) + m.bytes);
    for (const [, bytes] of perBatch) expect(bytes).toBeLessThanOrEqual(0.05 * total);
    expect(p.batches).toBe(perBatch.size);
    expect(p.moves.map((m) => m.batch)).toEqual([...p.moves.map((m) => m.batch)].sort((a, b) => a - b));
  });
});

describe("planRebalance: evacuate (drain)", () => {
  const collections = [...hashed(ids(60), 3), { collection: "empty-one", url: url(1), bytes: 0 }];
  const input = (strategy: string) => ({
    components: [{ component: "viper" as const, strategy, roots: roots(3), collections }],
    evacuate: [url(1)],
  });

  for (const strategy of ["Hash", "RoundRobin"]) {
    it(`${strategy}: moves every collection off the root, zero-byte ones too`, () => {
      const p = planRebalance(input(strategy));
      expect(p.after.components.viper?.roots[1]?.collections).toBe(0);
      const before = collections
        .filter((c) => c.url === url(1))
        .map((c) => c.collection)
        .sort();
      const off = p.moves
        .filter((m) => m.from === url(1))
        .map((m) => m.collection)
        .sort();
      expect(off).toEqual(before);
      for (const m of p.moves) expect(m.to).not.toBe(url(1));
    });
  }

  it("Hash: each drained collection goes to its rendezvous home among the other roots", () => {
    const p = planRebalance(input("Hash"));
    const views: RootView[] = [0, 2].map((i) => ({
      url: url(i),
      index: i,
      state: "active",
      weight: 1,
      collections: 0,
      bytes: undefined,
      hash: xxh64(url(i)),
    }));
    const hash = new HashStrategy();
    for (const m of p.moves.filter((x) => x.from === url(1))) {
      const home = views.find(
        (v) =>
          v.index ===
          hash.choose(m.collection as CollectionId, { component: "viper", roots: views, cursor: 0 }),
      );
      expect(m.to).toBe(home?.url);
    }
  });

  it("leaves an offline root alone even when asked to evacuate it", () => {
    const p = planRebalance({
      components: [
        {
          component: "viper",
          strategy: "RoundRobin",
          roots: roots(3, [{}, { state: "offline" }]),
          collections,
        },
      ],
      evacuate: [url(1)],
    });
    expect(p.moves.some((m) => m.from === url(1) || m.to === url(1))).toBe(false);
  });

  it("rejects a URL that is no component's root", () => {
    expect(() => planRebalance({ ...input("Hash"), evacuate: ["file:///nowhere"] })).toThrow(/not a root/);
  });
});

describe("planRebalance: properties", () => {
  const input = fc
    .record({
      n: fc.integer({ min: 2, max: 6 }),
      sizes: fc.array(fc.integer({ min: 1, max: 10_000 }), { minLength: 1, maxLength: 80 }),
      homes: fc.array(fc.nat(), { minLength: 80, maxLength: 80 }),
      weights: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
      strategy: fc.constantFrom("Hash", "RoundRobin", "LeastUsed"),
      by: fc.constantFrom("bytes" as const, "count" as const),
    })
    .map(({ n, sizes, homes, weights, strategy, by }) => ({
      components: [
        {
          component: "viper" as const,
          strategy,
          roots: roots(n).map((r, i) => ({ ...r, weight: weights[i] as number })),
          collections: sizes.map((bytes, i) => ({
            collection: `c${i}`,
            url: url((homes[i] as number) % n),
            bytes,
          })),
        },
      ],
      by,
    }));

  it("is deterministic: the same input gives the same plan", () => {
    fc.assert(
      fc.property(input, (i) => {
        expect(planRebalance(i)).toEqual(planRebalance(i));
      }),
      { numRuns: 50 },
    );
  });

  it("moves each collection at most once and keeps every collection and byte", () => {
    fc.assert(
      fc.property(input, (i) => {
        const p = planRebalance(i);
        const moved = p.moves.map((m) => m.collection);
        expect(new Set(moved).size).toBe(moved.length);
        const sum = (s: typeof p.before) => s.components.viper?.roots.reduce((n, r) => n + r.bytes, 0);
        expect(sum(p.after)).toBe(sum(p.before));
      }),
      { numRuns: 50 },
    );
  });

  it("never leaves the spread wider than it found it", () => {
    fc.assert(
      fc.property(input, (i) => {
        const p = planRebalance(i);
        const spread = (s: typeof p.before) =>
          (s.components.viper?.roots ?? []).reduce(
            (n, r) => n + ((r.deviation as number) * (r.target as number)) ** 2,
            0,
          );
        if (i.components[0]?.strategy !== "Hash")
          expect(spread(p.after)).toBeLessThanOrEqual(spread(p.before) + 1e-6);
      }),
      { numRuns: 50 },
    );
  });
});

describe("planRebalance: bad input", () => {
  const c: RebalanceComponentInput = {
    component: "viper",
    strategy: "Hash",
    roots: roots(2),
    collections: [],
  };
  it("rejects a negative threshold", () => {
    expect(() => planRebalance({ components: [c], threshold: -1 })).toThrow(InvalidArgumentError);
  });
  it("rejects an unknown balance unit", () => {
    expect(() => planRebalance({ components: [c], by: "files" as never })).toThrow(/by must be/);
  });
  it("rejects a collection in a root that is not listed", () => {
    expect(() =>
      planRebalance({
        components: [{ ...c, collections: [{ collection: "x", url: "file:///nope", bytes: 1 }] }],
      }),
    ).toThrow(/unknown root/);
  });
  it("rejects a zero weight", () => {
    expect(() => planRebalance({ components: [{ ...c, roots: roots(2, [{ weight: 0 }]) }] })).toThrow(
      /weight/,
    );
  });
});
