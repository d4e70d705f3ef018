import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AssignmentService,
  type CollectionId,
  HashStrategy,
  InvalidArgumentError,
  LeastUsedStrategy,
  NoEligibleRootError,
  type PlacementContext,
  type PlacementStrategy,
  RoundRobinStrategy,
  type RootView,
  RootsFullError,
  measureCapacity,
  validateCapacityRatios,
} from "../src/index.js";
import { rootView } from "./support/root-view.js";

function views(weights: number[], extra: Partial<RootView>[] = []): RootView[] {
  return weights.map((weight, index) =>
    rootView(`file:///mnt/disk${index + 1}/viper`, index, { weight, ...extra[index] }),
  );
}
const ctx = (roots: RootView[], cursor = 0): PlacementContext => ({ component: "viper", roots, cursor });

/** Places `n` collections one after the other, counting as the service does; returns counts per root. */
function fill(strategy: PlacementStrategy, roots: RootView[], n: number, prefix = "c"): number[] {
  const live = roots.map((r) => ({ ...r }));
  let cursor = 0;
  for (let i = 0; i < n; i++) {
    const chosen = strategy.choose(`${prefix}-${i}` as CollectionId, ctx(live, cursor));
    live[chosen] = { ...(live[chosen] as RootView), collections: (live[chosen] as RootView).collections + 1 };
    cursor = (chosen + 1) % live.length;
  }
  return live.map((r) => r.collections);
}

const weightsArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 });

describe("weighted RoundRobin (smooth, by deficit)", () => {
  it("keeps every root within one collection of its weighted share at every step", () => {
    fc.assert(
      fc.property(weightsArb, fc.integer({ min: 1, max: 60 }), (weights, n) => {
        const total = weights.reduce((a, b) => a + b, 0);
        const counts = fill(new RoundRobinStrategy(), views(weights), n);
        counts.forEach((c, i) => {
          expect(Math.abs(c - (n * (weights[i] as number)) / total)).toBeLessThanOrEqual(1 + 1e-9);
        });
      }),
    );
  });

  it("interleaves 2:1 weights as 0,1,0,0,1,0", () => {
    const roots = views([2, 1]).map((r) => ({ ...r }));
    const seq: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = new RoundRobinStrategy().choose(`c${i}` as CollectionId, ctx(roots, 0));
      seq.push(c);
      roots[c] = { ...(roots[c] as RootView), collections: (roots[c] as RootView).collections + 1 };
    }
    expect(seq).toEqual([0, 1, 0, 0, 1, 0]);
  });

  it("after a restart fills the emptier root first, weighted (a new weight-2 root takes the next ones)", () => {
    const roots = views([1, 2], [{ collections: 10 }, { collections: 0 }]);
    expect(fill(new RoundRobinStrategy(), roots, 20)).toEqual([10, 20]);
  });

  it("with equal weights is plain rotation", () => {
    const roots = views([1, 1, 1]).map((r) => ({ ...r }));
    const seq: number[] = [];
    let cursor = 0;
    for (let i = 0; i < 6; i++) {
      const c = new RoundRobinStrategy().choose(`c${i}` as CollectionId, ctx(roots, cursor));
      seq.push(c);
      roots[c] = { ...(roots[c] as RootView), collections: (roots[c] as RootView).collections + 1 };
      cursor = (c + 1) % 3;
    }
    expect(seq).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe("weighted Hash (rendezvous)", () => {
  it("gives each root a share of 4000 collections within 20% of its weighted share", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 5 }), (weights) => {
        const total = weights.reduce((a, b) => a + b, 0);
        const roots = views(weights);
        const counts = weights.map(() => 0);
        const hash = new HashStrategy();
        for (let i = 0; i < 4000; i++) {
          const c = hash.choose(`h-${i}` as CollectionId, ctx(roots));
          counts[c] = (counts[c] as number) + 1;
        }
        counts.forEach((c, i) => {
          const share = (4000 * (weights[i] as number)) / total;
          expect(Math.abs(c - share) / share).toBeLessThan(0.2);
        });
      }),
      { numRuns: 20 },
    );
  });

  it("raising one root's weight only moves collections onto that root", () => {
    const before = views([1, 1, 1]);
    const after = views([1, 3, 1]);
    const hash = new HashStrategy();
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      const a = hash.choose(`w-${i}` as CollectionId, ctx(before));
      const b = hash.choose(`w-${i}` as CollectionId, ctx(after));
      if (a !== b) {
        moved++;
        expect(b).toBe(1);
      }
    }
    expect(moved).toBeGreaterThan(0);
  });
});

describe("weighted LeastUsed", () => {
  it("compares bytes per unit of weight", () => {
    const roots = views([1, 4], [{ bytes: 100 }, { bytes: 300 }]);
    expect(new LeastUsedStrategy().choose("x" as CollectionId, ctx(roots))).toBe(1);
  });

  it("compares collections per unit of weight when some usage is unknown", () => {
    const roots = views([1, 3], [{ collections: 2 }, { collections: 5 }]);
    expect(new LeastUsedStrategy().choose("x" as CollectionId, ctx(roots))).toBe(1);
  });
});

describe("capacity states", () => {
  it("is ok, nearfull and full at the ratios' edges", () => {
    const r = { nearfullRatio: 0.85, fullRatio: 0.95 };
    expect(measureCapacity(84, 100, "quota", r).state).toBe("ok");
    expect(measureCapacity(85, 100, "quota", r).state).toBe("nearfull");
    expect(measureCapacity(95, 100, "statfs", r).state).toBe("full");
  });

  it("counts a zero-size quota as full", () => {
    expect(measureCapacity(0, 0, "quota").state).toBe("full");
  });

  it("rejects negative bytes with InvalidArgumentError", () => {
    expect(() => measureCapacity(-1, 100, "quota")).toThrow(InvalidArgumentError);
  });

  it("rejects nearfull above full and ratios outside (0, 1]", () => {
    expect(() => validateCapacityRatios({ nearfullRatio: 0.9, fullRatio: 0.8 })).toThrow(/must not exceed/);
    expect(() => validateCapacityRatios({ nearfullRatio: 0, fullRatio: 0.8 })).toThrow(InvalidArgumentError);
    expect(() => validateCapacityRatios({ nearfullRatio: 0.5, fullRatio: 1.5 })).toThrow(
      InvalidArgumentError,
    );
  });

  for (const name of ["RoundRobin", "Hash", "LeastUsed"] as const) {
    it(`${name} never chooses a full root`, () => {
      const service = new AssignmentService({
        components: { viper: { roots: ["file:///a/v", "file:///b/v"], strategy: name } },
      });
      service.setRootCapacity("viper", "file:///a/v", measureCapacity(99, 100, "quota"));
      return Promise.all(Array.from({ length: 20 }, (_, i) => service.assign(`c${i}`, "viper"))).then(
        (all) => {
          for (const a of all) expect(a.url).toBe("file:///b/v");
        },
      );
    });
  }

  it("throws RootsFullError (a NoEligibleRootError) naming the roots when every active root is full", async () => {
    const service = new AssignmentService({
      components: { viper: { roots: ["file:///a/v", "file:///b/v"] } },
    });
    service.setRootCapacity("viper", "file:///a/v", measureCapacity(99, 100, "quota"));
    service.setRootCapacity("viper", "file:///b/v", measureCapacity(96, 100, "statfs"));
    const err = await service.assign("c1", "viper").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RootsFullError);
    expect(err).toBeInstanceOf(NoEligibleRootError);
    expect((err as RootsFullError).roots).toEqual(["file:///a/v", "file:///b/v"]);
  });

  it("keeps placing on a root once its measurement drops below full again", async () => {
    const service = new AssignmentService({ components: { viper: { roots: ["file:///a/v"] } } });
    service.setRootCapacity("viper", "file:///a/v", measureCapacity(99, 100, "quota"));
    await expect(service.assign("c1", "viper")).rejects.toThrow(RootsFullError);
    service.setRootCapacity("viper", "file:///a/v", measureCapacity(10, 100, "quota"));
    expect((await service.assign("c1", "viper")).url).toBe("file:///a/v");
  });

  it("reports the measurement in stats and a root-capacity event on change", () => {
    const service = new AssignmentService({ components: { viper: { roots: ["file:///a/v"] } } });
    const events: string[] = [];
    service.on((e) => events.push(e.type === "root-capacity" ? `${e.type}:${e.capacity}` : e.type));
    service.setRootCapacity("viper", "file:///a/v", measureCapacity(90, 100, "quota"));
    service.setRootCapacity("viper", "file:///a/v", measureCapacity(91, 100, "quota"));
    expect(events).toEqual(["root-capacity:nearfull"]);
    expect(service.stats()[0]?.roots[0]?.capacity).toMatchObject({ state: "nearfull", usedBytes: 91 });
  });
});

describe("weighted RoundRobin with a shared allocate() store", () => {
  it("places by weight itself rather than through the store's even counter", async () => {
    const { InMemoryAssignmentStore } = await import("../src/index.js");
    class Allocator extends InMemoryAssignmentStore {
      override readonly authoritative = true;
      calls = 0;
      async allocate(req: {
        collection: CollectionId;
        component: "wal";
        candidates: readonly string[];
        assignedAt: number;
      }) {
        this.calls++;
        return this.putIfAbsent({ ...req, url: req.candidates[0] as string });
      }
    }
    const store = new Allocator();
    const s = new AssignmentService({
      components: { wal: { roots: [{ url: "file:///a/w", weight: 2 }, "file:///b/w"] } },
      store,
    });
    const urls: string[] = [];
    for (let i = 0; i < 6; i++) urls.push((await s.assign(`c${i}`, "wal")).url);
    expect(store.calls).toBe(0);
    expect(urls.filter((u) => u === "file:///a/w")).toHaveLength(4);
  });
});
