import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  AssignmentService,
  type CollectionId,
  HashStrategy,
  LeastUsedStrategy,
  NoEligibleRootError,
  type PlacementContext,
  RoundRobinStrategy,
  type RootView,
  rankRoots,
  unitScore,
  xxh64,
  xxh64Hex,
} from "../src/index.js";
import { rootView } from "./support/root-view.js";

function views(urls: string[], extra: Partial<RootView>[] = []): RootView[] {
  return urls.map((url, index) => rootView(url, index, extra[index]));
}
const ctx = (roots: RootView[], cursor = 0): PlacementContext => ({ component: "viper", roots, cursor });
const id = (s: string) => s as CollectionId;
const urls = (n: number) => Array.from({ length: n }, (_, i) => `file:///mnt/disk${i + 1}/viper`);
const ids = (n: number) => Array.from({ length: n }, (_, i) => `collection-${i}`);

describe("stable hash", () => {
  it("matches the published xxHash64 test vectors", () => {
    expect(xxh64Hex("")).toBe("ef46db3751d8e999");
    expect(xxh64Hex("a")).toBe("d24ec4f1a98c6e5b");
    expect(xxh64Hex("abc")).toBe("44bc2cf5ad770999");
  });

  it("hashes the UTF-8 bytes of ids (golden vectors)", () => {
    expect(xxh64Hex("orders")).toBe("0f4f95cfb44ca775");
    expect(xxh64Hex("collection-42")).toBe("d30dcf8a705195b9");
    expect(xxh64Hex("ünïcode")).toBe("aff510094968e696");
  });

  it("scores stay strictly inside (0, 1)", () => {
    for (const k of ["", "a", "zzz"]) {
      for (const t of [{ hi: 0, lo: 0 }, { hi: 0xffffffff, lo: 0xffffffff }, xxh64(k)]) {
        const u = unitScore(xxh64(k), t);
        expect(u).toBeGreaterThan(0);
        expect(u).toBeLessThan(1);
      }
    }
  });
});

describe("Hash strategy (weighted rendezvous)", () => {
  const golden = {
    orders: 2,
    users: 2,
    c1: 2,
    c2: 3,
    "embeddings-2024": 1,
    A: 2,
    "z-9_x": 0,
    "collection-42": 0,
    products: 2,
    logs: 0,
  };
  const goldenRoots = [
    "file:///mnt/nvme1/viper",
    "file:///mnt/nvme2/viper",
    "s3://data-bucket/viper",
    "gcs://data-bucket/viper",
  ];

  it("maps ids to the same roots as every earlier version (golden vectors)", async () => {
    const s = new AssignmentService({ components: { viper: { roots: goldenRoots, strategy: "Hash" } } });
    const got: Record<string, number> = {};
    for (const c of Object.keys(golden)) got[c] = s.rootIndex("viper", (await s.assign(c, "viper")).url);
    expect(got).toEqual(golden);
  });

  it("gives the same answer in a fresh process", () => {
    const script = `
      import { HashStrategy, xxh64 } from "./src/index.ts";
      const roots = ${JSON.stringify(goldenRoots)}.map((url, index) => ({ url, index, state: "active", weight: 1, collections: 0, bytes: undefined, hash: xxh64(url) }));
      const s = new HashStrategy();
      console.log(JSON.stringify(${JSON.stringify(Object.keys(golden))}.map((c) => s.choose(c, { component: "viper", roots, cursor: 0 }))));
    `;
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd,
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual(Object.values(golden));
  });

  it("is independent of the order roots are configured in", () => {
    const s = new HashStrategy();
    const a = views(urls(5));
    const b = views([...urls(5)].reverse());
    for (const c of ids(500)) {
      expect(a[s.choose(id(c), ctx(a))]?.url).toBe(b[s.choose(id(c), ctx(b))]?.url);
    }
  });

  it("moves about 1/(N+1) of collections when a root is added, all onto the new root", () => {
    const s = new HashStrategy();
    const before = views(urls(8));
    const after = views(urls(9));
    let moved = 0;
    const all = ids(100_000);
    for (const c of all) {
      const a = before[s.choose(id(c), ctx(before))]!.url;
      const b = after[s.choose(id(c), ctx(after))]!.url;
      if (a !== b) {
        moved++;
        expect(b).toBe(after[8]!.url);
      }
    }
    const fraction = moved / all.length;
    expect(fraction).toBeGreaterThan(0.9 / 9);
    expect(fraction).toBeLessThan(1.1 / 9);
  });

  it("moves only the removed root's collections when a root is removed", () => {
    const s = new HashStrategy();
    const before = views(urls(8));
    const after = views(urls(8).filter((_, i) => i !== 3));
    for (const c of ids(20_000)) {
      const a = before[s.choose(id(c), ctx(before))]!.url;
      const b = after[s.choose(id(c), ctx(after))]!.url;
      if (a !== before[3]!.url) expect(b).toBe(a);
    }
  });

  it("sends collections to roots in proportion to their weights", () => {
    const s = new HashStrategy();
    const roots = views(urls(3), [{ weight: 1 }, { weight: 2 }, { weight: 1 }]);
    const counts = [0, 0, 0];
    for (const c of ids(40_000)) counts[s.choose(id(c), ctx(roots))]!++;
    expect(counts[1]! / 40_000).toBeGreaterThan(0.47);
    expect(counts[1]! / 40_000).toBeLessThan(0.53);
  });

  it("with a bounded load never fills a root beyond (1+ε)× the average", async () => {
    const s = new AssignmentService({
      components: { viper: { roots: urls(4), strategy: "Hash", boundedLoad: 0.1 } },
    });
    for (const c of ids(400)) await s.assign(c, "viper");
    const counts = s.stats()[0]!.roots.map((r) => r.collections);
    expect(Math.max(...counts)).toBeLessThanOrEqual(Math.ceil(1.1 * 100));
  });

  it("falls back down the ranking when the home root is cordoned", () => {
    const s = new HashStrategy();
    const roots = views(urls(4));
    for (const c of ids(200)) {
      const ranked = rankRoots(c, roots);
      const cordoned = views(
        urls(4),
        roots.map((r) => (r.index === ranked[0]!.index ? { state: "cordoned" } : {})),
      );
      expect(s.choose(id(c), ctx(cordoned))).toBe(ranked[1]!.index);
    }
  });
});

describe("RoundRobin strategy", () => {
  it("places five collections on three roots in order 0,1,2,0,1", async () => {
    const s = new AssignmentService({ components: { wal: { roots: ["mem://a", "mem://b", "mem://c"] } } });
    const order = [];
    for (const c of ["c1", "c2", "c3", "c4", "c5"])
      order.push(s.rootIndex("wal", (await s.assign(c, "wal")).url));
    expect(order).toEqual([0, 1, 2, 0, 1]);
  });

  it("fills the emptier roots first after a restart", () => {
    const roots = views(urls(3), [{ collections: 10 }, { collections: 10 }, { collections: 9 }]);
    expect(new RoundRobinStrategy().choose(id("x"), ctx(roots, 0))).toBe(2);
  });

  it("skips cordoned and offline roots", () => {
    const roots = views(urls(3), [{ state: "cordoned" }, { state: "offline" }, {}]);
    const rr = new RoundRobinStrategy();
    for (let cursor = 0; cursor < 3; cursor++) expect(rr.choose(id("x"), ctx(roots, cursor))).toBe(2);
  });
});

describe("LeastUsed strategy", () => {
  it("picks the fewest bytes when every root's usage is known, else the fewest collections", () => {
    const lu = new LeastUsedStrategy();
    expect(
      lu.choose(
        id("x"),
        ctx(views(urls(3), [{ bytes: 30, collections: 1 }, { bytes: 10, collections: 5 }, { bytes: 20 }])),
      ),
    ).toBe(1);
    expect(
      lu.choose(
        id("x"),
        ctx(views(urls(3), [{ bytes: 30, collections: 1 }, { collections: 5 }, { collections: 1 }])),
      ),
    ).toBe(0);
  });

  it("breaks ties by the lower root index", () => {
    expect(
      new LeastUsedStrategy().choose(
        id("x"),
        ctx(views(urls(3), [{ collections: 2 }, { collections: 1 }, { collections: 1 }])),
      ),
    ).toBe(1);
  });
});

describe("every strategy", () => {
  for (const strategy of [
    new RoundRobinStrategy(),
    new HashStrategy(),
    new HashStrategy({ boundedLoad: 0.2 }),
    new LeastUsedStrategy(),
  ]) {
    it(`${strategy.name}: gives cordoned and offline roots nothing new`, () => {
      const roots = views(urls(4), [{ state: "cordoned" }, {}, { state: "offline" }, {}]);
      for (const c of ids(300)) expect([1, 3]).toContain(strategy.choose(id(c), ctx(roots)));
    });

    it(`${strategy.name}: refuses with NoEligibleRootError when no root is active`, () => {
      const roots = views(urls(2), [{ state: "cordoned" }, { state: "offline" }]);
      expect(() => strategy.choose(id("x"), ctx(roots))).toThrow(NoEligibleRootError);
      expect(() => strategy.choose(id("x"), ctx([]))).toThrow(NoEligibleRootError);
    });
  }
});
