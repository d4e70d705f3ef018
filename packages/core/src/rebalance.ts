import type { ComponentType } from "./component.js";
import { InvalidArgumentError } from "./errors.js";
import { type Hash64, unitScore, xxh64 } from "./hash.js";
import { DEFAULT_FULL_RATIO } from "./capacity.js";
import type { RootView } from "./strategy.js";

/**
 * A root as the planner sees it. `full` is the capacity state (over `full_ratio`): it gives
 * collections away but takes none; `cordoned` keeps its collections and takes none (unless
 * `evacuateCordoned`); `offline` is left alone entirely (its contents are unknown, never empty).
 */
export interface RebalanceRootInput {
  readonly url: string;
  /** Default 1. */
  readonly weight?: number;
  readonly state: "active" | "cordoned" | "offline" | "full";
  /** A quota or device size: a move never takes the root past `fullRatio` of it. */
  readonly capacityBytes?: number;
  /** Bytes already in use on the device (default: the sum of its collections' bytes). */
  readonly usedBytes?: number;
}

/** One collection's component where it lives now. */
export interface RebalanceCollectionInput {
  readonly collection: string;
  /** The root URL holding it. */
  readonly url: string;
  readonly bytes: number;
}

/** One component's roots and collections. */
export interface RebalanceComponentInput {
  readonly component: ComponentType;
  /** `Hash` means affinity: a collection's target is its weighted rendezvous home. */
  readonly strategy: string;
  readonly roots: readonly RebalanceRootInput[];
  readonly collections: readonly RebalanceCollectionInput[];
}

/** Input of {@link planRebalance}. */
export interface RebalanceInput {
  readonly components: readonly RebalanceComponentInput[];
  /** A root is balanced within `± threshold ×` its weighted target. Default 0.1. */
  readonly threshold?: number;
  /** What is balanced: bytes (default) or collection count. */
  readonly by?: "bytes" | "count";
  /** Bytes in motion at once (one batch) as a fraction of all bytes; at least one move a batch. Default 0.05. */
  readonly maxMisplacedRatio?: number;
  /** Capacity guard for roots with `capacityBytes`. Default 0.95. */
  readonly fullRatio?: number;
  /** Move every collection off cordoned roots too. Default false. */
  readonly evacuateCordoned?: boolean;
  /**
   * Root URLs to empty (what `drain` asks for): each gets a target of 0 and takes nothing, whatever its
   * state (an offline root is still left alone). Every URL must be a root of some component.
   */
  readonly evacuate?: readonly string[];
}

/** One planned move. Moves of batch `k + 1` start after every move of batch `k` is done. */
export interface PlannedMove {
  readonly collection: string;
  readonly component: ComponentType;
  readonly from: string;
  readonly to: string;
  readonly bytes: number;
  readonly batch: number;
}

/** One root's balance: its load in the unit of `by`, its weighted target and `(load - target) / target`. */
export interface RootBalance {
  readonly url: string;
  readonly state: RebalanceRootInput["state"];
  readonly weight: number;
  readonly collections: number;
  readonly bytes: number;
  /** `undefined` for roots outside the balance (cordoned, offline). */
  readonly target: number | undefined;
  readonly deviation: number | undefined;
}

/** The balance of every component. */
export interface BalanceSummary {
  readonly by: "bytes" | "count";
  readonly threshold: number;
  readonly components: Record<string, { readonly roots: readonly RootBalance[]; readonly balanced: boolean }>;
}

/** What {@link planRebalance} returns. */
export interface RebalancePlan {
  /** Ordered by batch, then the order the planner chose them. */
  readonly moves: readonly PlannedMove[];
  readonly before: BalanceSummary;
  readonly after: BalanceSummary;
  /** Offline roots: reported, left alone. */
  readonly offline: readonly { readonly component: ComponentType; readonly url: string }[];
  readonly batches: number;
  readonly bytesToMove: number;
}

interface Root {
  readonly url: string;
  readonly index: number;
  readonly state: RebalanceRootInput["state"];
  readonly weight: number;
  readonly capacityBytes: number | undefined;
  usedBytes: number;
  collections: number;
  bytes: number;
  /** Collections here, sorted by (bytes, id), removed as they move. */
  readonly items: Item[];
  /** To be emptied: target 0, takes nothing. */
  readonly evacuating: boolean;
}

interface Item {
  readonly collection: string;
  readonly bytes: number;
}

function check(input: RebalanceInput) {
  const threshold = input.threshold ?? 0.1;
  if (!(Number.isFinite(threshold) && threshold >= 0))
    throw new InvalidArgumentError(`threshold must be a finite number >= 0 (got ${threshold})`);
  const by = input.by ?? "bytes";
  if (by !== "bytes" && by !== "count")
    throw new InvalidArgumentError(`by must be "bytes" or "count" (got ${JSON.stringify(by)})`);
  const ratio = input.maxMisplacedRatio ?? 0.05;
  if (!(ratio > 0 && ratio <= 1))
    throw new InvalidArgumentError(`maxMisplacedRatio must be in (0, 1] (got ${ratio})`);
  const fullRatio = input.fullRatio ?? DEFAULT_FULL_RATIO;
  if (!(fullRatio > 0 && fullRatio <= 1))
    throw new InvalidArgumentError(`fullRatio must be in (0, 1] (got ${fullRatio})`);
  return { threshold, by, ratio, fullRatio } as const;
}

const STATES = new Set(["active", "cordoned", "offline", "full"]);

function buildRoots(c: RebalanceComponentInput, evacuate: (r: RebalanceRootInput) => boolean): Root[] {
  const seen = new Set<string>();
  const roots = c.roots.map((r, index): Root => {
    if (seen.has(r.url)) throw new InvalidArgumentError(`root ${r.url} (${c.component}) is listed twice`);
    seen.add(r.url);
    const weight = r.weight ?? 1;
    if (!(weight > 0 && Number.isFinite(weight)))
      throw new InvalidArgumentError(`weight of root ${r.url} (${c.component}) must be > 0 (got ${weight})`);
    if (!STATES.has(r.state))
      throw new InvalidArgumentError(
        `state of root ${r.url} (${c.component}) is unknown: ${String(r.state)}`,
      );
    return {
      url: r.url,
      index,
      state: r.state,
      weight,
      capacityBytes: r.capacityBytes,
      usedBytes: 0,
      collections: 0,
      bytes: 0,
      items: [],
      evacuating: r.state !== "offline" && evacuate(r),
    };
  });
  const byUrl = new Map(roots.map((r) => [r.url, r]));
  const ids = new Set<string>();
  for (const col of c.collections) {
    const root = byUrl.get(col.url);
    if (!root)
      throw new InvalidArgumentError(
        `collection ${col.collection} (${c.component}) is in unknown root ${col.url}`,
      );
    if (ids.has(col.collection))
      throw new InvalidArgumentError(`collection ${col.collection} (${c.component}) is listed twice`);
    if (!(Number.isFinite(col.bytes) && col.bytes >= 0))
      throw new InvalidArgumentError(`bytes of ${col.collection} must be >= 0 (got ${col.bytes})`);
    ids.add(col.collection);
    root.items.push({ collection: col.collection, bytes: col.bytes });
    root.collections++;
    root.bytes += col.bytes;
  }
  for (const [i, r] of roots.entries()) {
    r.items.sort(byBytesThenId);
    r.usedBytes = c.roots[i]?.usedBytes ?? r.bytes;
  }
  return roots;
}

function byBytesThenId(a: Item, b: Item): number {
  return a.bytes - b.bytes || (a.collection < b.collection ? -1 : a.collection > b.collection ? 1 : 0);
}

/** Roots that count in the balance: they give and (unless full or evacuating) take. */
function inBalance(r: Root): boolean {
  return r.state === "active" || r.state === "full" || r.evacuating;
}

/** Roots that may take collections. */
function isTaker(r: Root): boolean {
  return r.state === "active" && !r.evacuating;
}

function load(r: Root, by: "bytes" | "count"): number {
  return by === "bytes" ? r.bytes : r.collections;
}

/** Weighted target of each balance root (roots being evacuated get 0). */
function targets(roots: readonly Root[], by: "bytes" | "count"): Map<Root, number> {
  const holders = roots.filter((r) => inBalance(r) && !r.evacuating);
  const total = roots.filter(inBalance).reduce((n, r) => n + load(r, by), 0);
  const weights = holders.reduce((n, r) => n + r.weight, 0);
  const out = new Map<Root, number>();
  for (const r of roots)
    if (inBalance(r)) out.set(r, r.evacuating || weights === 0 ? 0 : (total * r.weight) / weights);
  return out;
}

function summary(
  components: readonly { c: RebalanceComponentInput; roots: Root[] }[],
  by: "bytes" | "count",
  threshold: number,
): BalanceSummary {
  const out: BalanceSummary["components"] = {};
  for (const { c, roots } of components) {
    const t = targets(roots, by);
    let balanced = true;
    const list = roots.map((r): RootBalance => {
      const target = t.get(r);
      const l = load(r, by);
      const deviation =
        target === undefined ? undefined : target === 0 ? (l === 0 ? 0 : 1) : (l - target) / target;
      if (deviation !== undefined && Math.abs(deviation) > threshold + 1e-12) balanced = false;
      return {
        url: r.url,
        state: r.state,
        weight: r.weight,
        collections: r.collections,
        bytes: r.bytes,
        target,
        deviation,
      };
    });
    out[c.component] = { roots: list, balanced };
  }
  return { by, threshold, components: out };
}

function fits(r: Root, bytes: number, fullRatio: number): boolean {
  return r.capacityBytes === undefined || r.usedBytes + bytes <= fullRatio * r.capacityBytes;
}

/** Where `item` is, or would go, in a root's sorted items (binary search). */
function slot(items: readonly Item[], item: Item): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byBytesThenId(items[mid] as Item, item) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function take(r: Root, item: Item): void {
  r.items.splice(slot(r.items, item), 1);
  r.collections--;
  r.bytes -= item.bytes;
  r.usedBytes -= item.bytes;
}

function put(r: Root, item: Item): void {
  r.items.splice(slot(r.items, item), 0, item);
  r.collections++;
  r.bytes += item.bytes;
  r.usedBytes += item.bytes;
}

type Move = Omit<PlannedMove, "batch">;

/** Index of the best of `roots` for `key` by weighted rendezvous score (ties: lower index); -1 when empty. */
function bestByScore(key: Hash64, roots: readonly { index: number; weight: number; hash: Hash64 }[]): number {
  const weighted = roots.some((v) => v.weight !== 1);
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const v of roots) {
    const u = unitScore(key, v.hash);
    const s = weighted ? -v.weight / Math.log(u) : u;
    if (s > bestScore || (s === bestScore && v.index < best)) {
      best = v.index;
      bestScore = s;
    }
  }
  return best;
}

/**
 * Index of the collection's weighted rendezvous home among `views` (-1 when empty): the same ranking
 * as {@link rankRoots}' first entry, without sorting.
 */
function homeOf(collection: string, views: readonly RootView[]): number {
  return bestByScore(xxh64(collection), views);
}

/**
 * The position in `roots` of a collection's weighted rendezvous home: where {@link HashStrategy} places
 * it when every listed root is active (roots are identified by URL, so their order changes nothing but
 * the index returned). -1 for no roots.
 *
 * @example
 * const at = rendezvousHome("docs", [{ url: "file:///a" }, { url: "file:///b", weight: 2 }]);
 */
export function rendezvousHome(
  collection: string,
  roots: readonly { readonly url: string; readonly weight?: number }[],
): number {
  return bestByScore(
    xxh64(collection),
    roots.map((r, index) => ({ index, weight: r.weight ?? 1, hash: xxh64(r.url) })),
  );
}

/**
 * Affinity: every collection whose weighted rendezvous home (among the usable roots) is another root
 * moves to that home — not just enough of them to reach the threshold — so that after the plan is
 * executed every collection is where `Hash` now points, and a later plan finds nothing to do. A home
 * that is offline, full or without room for the collection means "stay" (the next plan, once it is
 * back or has room, picks the collection up). The in-motion cap does not limit which collections are
 * planned; it only splits them into batches (see {@link planRebalance}). Order: by giving root, then id.
 */
function planHashed(component: ComponentType, roots: Root[], fullRatio: number): Move[] {
  // Ranked over every root that is not cordoned or evacuating: an offline or full home means "stay".
  const views: RootView[] = roots
    .filter((r) => r.state !== "cordoned" && !r.evacuating)
    .map((r) => ({
      url: r.url,
      index: r.index,
      state: r.state === "offline" ? "offline" : "active",
      weight: r.weight,
      collections: r.collections,
      bytes: r.bytes,
      hash: xxh64(r.url),
    }));
  const placeable = views.filter((v) => roots[v.index]?.state === "active");
  const moves: Move[] = [];
  for (const src of roots) {
    if (!inBalance(src)) continue;
    const items = [...src.items].sort((a, b) => (a.collection < b.collection ? -1 : 1));
    for (const item of items) {
      // A collection leaving an evacuating root goes to its home among the roots that may take it.
      const home = roots[homeOf(item.collection, src.evacuating ? placeable : views)];
      if (!home || home === src || home.state !== "active" || !fits(home, item.bytes, fullRatio)) continue;
      take(src, item);
      put(home, item);
      moves.push({ collection: item.collection, component, from: src.url, to: home.url, bytes: item.bytes });
    }
  }
  return moves;
}

/**
 * A drain: every collection on an evacuating root moves, whether or not that evens the spread; to its
 * rendezvous home among the takers (`Hash`), else to the taker furthest below its target. Collections
 * that fit nowhere (capacity) stay.
 */
function planEvacuation(
  component: ComponentType,
  roots: Root[],
  by: "bytes" | "count",
  fullRatio: number,
  hashed: boolean,
  moved: Set<string>,
): Move[] {
  const t = targets(roots, by);
  const takers = roots.filter(isTaker);
  const views: RootView[] = takers.map((r) => ({
    url: r.url,
    index: r.index,
    state: "active",
    weight: r.weight,
    collections: r.collections,
    bytes: r.bytes,
    hash: xxh64(r.url),
  }));
  const moves: Move[] = [];
  for (const src of roots) {
    if (!src.evacuating) continue;
    const items = [...src.items].sort((a, b) => (a.collection < b.collection ? -1 : 1));
    for (const item of items) {
      let dst: Root | undefined;
      if (hashed) {
        const home = roots[homeOf(item.collection, views)];
        if (home && fits(home, item.bytes, fullRatio)) dst = home;
      } else {
        let best = Number.NEGATIVE_INFINITY;
        for (const r of takers) {
          const deficit = ((t.get(r) as number) - load(r, by)) / r.weight;
          if (deficit > best && fits(r, item.bytes, fullRatio)) {
            best = deficit;
            dst = r;
          }
        }
      }
      if (!dst) continue;
      take(src, item);
      put(dst, item);
      moved.add(item.collection);
      moves.push({ collection: item.collection, component, from: src.url, to: dst.url, bytes: item.bytes });
    }
  }
  return moves;
}

/** Greedy: from the most over-target root to the most under-target taker, while that lowers the spread. */
function planGreedy(
  component: ComponentType,
  roots: Root[],
  by: "bytes" | "count",
  threshold: number,
  fullRatio: number,
  moved: Set<string>,
): Move[] {
  const t = targets(roots, by);
  const balance = roots.filter((r) => t.has(r));
  const takers = balance.filter(isTaker);
  const moves: Move[] = [];
  const out = (r: Root) => {
    const target = t.get(r) as number;
    const l = load(r, by);
    return target === 0 ? (l === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(l - target) / target;
  };
  // Each move lowers Σ (load - target)² strictly, so this ends; the guard is a safety net.
  for (let guard = 0; guard < 10_000_000; guard++) {
    if (balance.every((r) => out(r) <= threshold + 1e-12)) break;
    let src: Root | undefined;
    let srcOver = Number.NEGATIVE_INFINITY;
    for (const r of balance) {
      const over = load(r, by) - (t.get(r) as number);
      if (r.items.length > 0 && over > srcOver) {
        src = r;
        srcOver = over;
      }
    }
    let dst: Root | undefined;
    let dstUnder = Number.NEGATIVE_INFINITY;
    for (const r of takers) {
      const under = (t.get(r) as number) - load(r, by);
      if (r !== src && under > dstUnder) {
        dst = r;
        dstUnder = under;
      }
    }
    if (!src || !dst) break;
    // The move lowers the spread when the item is smaller than the sum of the two distances to target.
    const gap = srcOver + dstUnder;
    const target = dst;
    const ok = (i: Item) => !moved.has(i.collection) && fits(target, i.bytes, fullRatio);
    const item = by === "count" ? src.items.find((i) => 1 < gap && ok(i)) : pick(src.items, gap, ok);
    if (!item) break;
    moved.add(item.collection);
    take(src, item);
    put(dst, item);
    moves.push({ collection: item.collection, component, from: src.url, to: dst.url, bytes: item.bytes });
  }
  return moves;
}

/**
 * The item nearest `gap / 2` bytes that is under `gap` (moving `x` lowers the squared spread by
 * `2x(gap - x)`, most at `gap / 2`). Items are sorted by bytes; a bounded window around it is looked at.
 */
function pick(items: readonly Item[], gap: number, ok: (i: Item) => boolean): Item | undefined {
  const half = gap / 2;
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((items[mid] as Item).bytes < half) lo = mid + 1;
    else hi = mid;
  }
  let best: Item | undefined;
  for (let i = Math.max(0, lo - 64); i < Math.min(items.length, lo + 64); i++) {
    const item = items[i] as Item;
    if (item.bytes <= 0 || item.bytes >= gap || !ok(item)) continue;
    if (!best || Math.abs(item.bytes - half) < Math.abs(best.bytes - half)) best = item;
  }
  return best;
}

/**
 * Plans a minimal set of moves that brings every active root within `threshold` of its weighted
 * target, per component. Pure and deterministic (the same input gives the same plan).
 *
 * - `Hash` components keep affinity: when a component is outside the threshold, every collection whose
 *   weighted rendezvous home among the usable roots is another root moves there (and only there), so
 *   adding one root to N moves about 1/(N+1) of them, all onto the new root, and once executed the
 *   next plan is empty. A component within the threshold is left as it is.
 * - Other strategies: greedy moves from the most over-target root to the most under-target one,
 *   each lowering the spread; the largest collection that fits the gap first.
 * - Never to or from an offline root, never to a cordoned or full root, never past `fullRatio` of a
 *   root's `capacityBytes`; cordoned roots keep their collections unless `evacuateCordoned`; roots
 *   listed in `evacuate` are emptied (a drain).
 * - Moves are grouped into batches of at most `maxMisplacedRatio` of all bytes (Ceph keeps 5 %
 *   misplaced); a move larger than that is a batch of its own. The cap bounds what is in motion at
 *   once, never what is planned: `rebalance execute` runs batch after batch until every move is done.
 *
 * @example
 * const plan = planRebalance({ components: [{ component: "viper", strategy: "Hash", roots, collections }] });
 * for (const m of plan.moves) console.log(m.batch, m.collection, m.from, "→", m.to);
 * @throws InvalidArgumentError for a bad threshold, ratio, weight, state or a collection in an unknown root
 */
export function planRebalance(input: RebalanceInput): RebalancePlan {
  const { threshold, by, ratio, fullRatio } = check(input);
  const cordoned = input.evacuateCordoned ?? false;
  const listed = new Set(input.evacuate ?? []);
  const evacuate = (r: RebalanceRootInput) => listed.has(r.url) || (cordoned && r.state === "cordoned");
  const built = input.components.map((c) => ({ c, roots: buildRoots(c, evacuate) }));
  for (const url of listed)
    if (!built.some(({ roots }) => roots.some((r) => r.url === url)))
      throw new InvalidArgumentError(`cannot evacuate ${url}: it is not a root of any component`);
  const before = summary(built, by, threshold);
  const offline = built.flatMap(({ c, roots }) =>
    roots.filter((r) => r.state === "offline").map((r) => ({ component: c.component, url: r.url })),
  );
  const moves: Move[] = [];
  let totalBytes = 0;
  let totalCount = 0;
  for (const { c, roots } of built) {
    for (const r of roots) {
      totalBytes += r.bytes;
      totalCount += r.collections;
    }
    if (before.components[c.component]?.balanced) continue;
    const hashed = c.strategy === "Hash";
    const moved = new Set<string>();
    moves.push(...planEvacuation(c.component, roots, by, fullRatio, hashed, moved));
    moves.push(
      ...(hashed
        ? planHashed(c.component, roots, fullRatio)
        : planGreedy(c.component, roots, by, threshold, fullRatio, moved)),
    );
  }
  // Batches: by bytes when there are any, else by count.
  const capBytes = totalBytes > 0 ? ratio * totalBytes : 0;
  const capCount = Math.max(1, Math.floor(ratio * totalCount));
  const planned: PlannedMove[] = [];
  let batch = 0;
  let inBatchBytes = 0;
  let inBatchCount = 0;
  for (const m of moves) {
    const over = totalBytes > 0 ? inBatchBytes + m.bytes > capBytes : inBatchCount + 1 > capCount;
    if (inBatchCount > 0 && over) {
      batch++;
      inBatchBytes = 0;
      inBatchCount = 0;
    }
    planned.push({ ...m, batch });
    inBatchBytes += m.bytes;
    inBatchCount++;
  }
  return {
    moves: planned,
    before,
    after: summary(built, by, threshold),
    offline,
    batches: planned.length === 0 ? 0 : batch + 1,
    bytesToMove: planned.reduce((n, m) => n + m.bytes, 0),
  };
}
