import type { CapacityState } from "./capacity.js";
import type { CollectionId } from "./collection-id.js";
import type { ComponentType } from "./component.js";
import { InvalidArgumentError, NoEligibleRootError, RootsFullError } from "./errors.js";
import { type Hash64, unitScore, xxh64 } from "./hash.js";

/**
 * State of a root as seen by placement.
 * - `active`: takes new collections.
 * - `cordoned`: keeps its collections, gets no new ones.
 * - `offline`: unreachable; gets nothing, and its collections are not re-placed elsewhere.
 */
export type RootState = "active" | "cordoned" | "offline";

/** What a strategy knows about one root when it places a collection. */
export interface RootView {
  /** Canonical root URL. */
  readonly url: string;
  /** Position in the component's configured root list. */
  readonly index: number;
  readonly state: RootState;
  /**
   * Relative capacity (default 1): `Hash` scores by weighted rendezvous, `RoundRobin` fills by deficit
   * against the weighted share, `LeastUsed` compares usage per unit of weight.
   */
  readonly weight: number;
  /** How full the root is, when measured; a `full` root is not chosen (see {@link isPlaceable}). */
  readonly capacity?: CapacityState | undefined;
  /** Collections currently assigned to this root. */
  readonly collections: number;
  /** Bytes used, when known (discovery or the engine reports it). */
  readonly bytes: number | undefined;
  /** Precomputed hash of the URL (for rendezvous scoring). */
  readonly hash: Hash64;
}

/** Everything a strategy needs to place one collection. */
export interface PlacementContext {
  readonly component: ComponentType;
  readonly roots: readonly RootView[];
  /** Round-robin cursor: index where the next tie-break search starts. */
  readonly cursor: number;
}

/** Picks a root for a new collection. Implementations must be pure and deterministic. */
export interface PlacementStrategy {
  /** Name used in configuration (`RoundRobin`, `Hash`, `LeastUsed`, or a custom one). */
  readonly name: string;
  /** Returns the index of the chosen root; only `active` roots may be chosen. */
  choose(collection: CollectionId, context: PlacementContext): number;
}

/** True when a root may take a new collection: `active` and not `full`. */
export function isPlaceable(r: RootView): boolean {
  return r.state === "active" && r.capacity !== "full";
}

/** The roots that may take a new collection; throws when there is none. */
function eligible(context: PlacementContext): RootView[] {
  const roots = context.roots.filter(isPlaceable);
  if (roots.length === 0) {
    const full = context.roots.filter((r) => r.state === "active" && r.capacity === "full");
    if (full.length > 0)
      throw new RootsFullError(
        context.component,
        full.map((r) => r.url),
      );
    const why = context.roots.length === 0 ? "no roots configured" : "every root is cordoned or offline";
    throw new NoEligibleRootError(context.component, why);
  }
  return roots;
}

/**
 * Smooth weighted round-robin whose position is derived from what is recorded: the next collection
 * goes to the placeable root with the largest deficit against its weighted share,
 * `weight / Σweight × (total + 1) − collections`, ties broken in cursor order. With equal weights on an
 * empty or balanced system this is plain rotation (`0,1,2,0,1,…`); weights 2:1 give `0,1,0,0,1,0,…`;
 * after a restart with discovered collections the emptier roots fill first instead of everything piling
 * onto root 0.
 */
export class RoundRobinStrategy implements PlacementStrategy {
  readonly name = "RoundRobin";
  choose(_collection: CollectionId, context: PlacementContext): number {
    const roots = context.roots;
    const n = roots.length;
    let weights = 0;
    let total = 1;
    for (const r of roots) {
      if (!isPlaceable(r)) continue;
      weights += r.weight;
      total += r.collections;
    }
    let best = -1;
    let bestDeficit = Number.NEGATIVE_INFINITY;
    for (let step = 0; step < n; step++) {
      const r = roots[(context.cursor + step) % n] as RootView;
      if (!isPlaceable(r)) continue;
      const deficit = (r.weight / weights) * total - r.collections;
      // A tiny tolerance keeps float noise from breaking the cursor-order tie between equal shares.
      if (deficit > bestDeficit + 1e-9) {
        best = r.index;
        bestDeficit = deficit;
      }
    }
    if (best < 0) eligible(context);
    return best;
  }
}

/** Options of {@link HashStrategy}. */
export interface HashStrategyOptions {
  /**
   * Bounded load: no root takes a new collection while it holds more than `(1 + ε) ×` the average
   * (over active roots, counting the new one); the next root in the collection's ranking is used
   * instead. `undefined` (default) means pure rendezvous hashing.
   */
  readonly boundedLoad?: number;
}

/**
 * Weighted rendezvous (highest random weight) hashing over xxHash64: every (collection, root) pair
 * gets a score `-weight / ln(u)` with `u` uniform in (0,1); the best active root wins. Adding one
 * root to N moves about 1/(N+1) of collections, all onto the new root; removing a root moves only
 * its own collections. Roots are identified by URL, so reordering the config moves nothing.
 */
export class HashStrategy implements PlacementStrategy {
  readonly name = "Hash";
  readonly boundedLoad: number | undefined;

  constructor(options: HashStrategyOptions = {}) {
    if (
      options.boundedLoad !== undefined &&
      !(options.boundedLoad >= 0 && Number.isFinite(options.boundedLoad))
    ) {
      throw new InvalidArgumentError(`boundedLoad must be a finite number >= 0 (got ${options.boundedLoad})`);
    }
    this.boundedLoad = options.boundedLoad;
  }

  choose(collection: CollectionId, context: PlacementContext): number {
    const key = xxh64(collection);
    if (this.boundedLoad === undefined) {
      // Equal weights: comparing u directly keeps the result independent of Math.log.
      const weighted = hasNonUnitWeight(context.roots);
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const r of context.roots) {
        if (!isPlaceable(r)) continue;
        const u = unitScore(key, r.hash);
        const score = weighted ? -r.weight / Math.log(u) : u;
        if (score > bestScore) {
          bestScore = score;
          best = r.index;
        }
      }
      if (best < 0) eligible(context);
      return best;
    }
    const ranked = rankRoots(collection, eligible(context), key);
    const active = ranked.length;
    const total = context.roots.reduce((n, r) => n + (isPlaceable(r) ? r.collections : 0), 0) + 1;
    const cap = Math.ceil(((1 + this.boundedLoad) * total) / active);
    for (const r of ranked) if (r.collections < cap) return r.index;
    return (ranked[0] as RootView).index;
  }
}

function hasNonUnitWeight(roots: readonly RootView[]): boolean {
  for (const r of roots) if (r.weight !== 1) return true;
  return false;
}

/**
 * Every given root ranked for one collection by weighted rendezvous score, best first: the first is
 * the collection's home under {@link HashStrategy}, the rest are its fallbacks.
 */
export function rankRoots(
  collection: string,
  roots: readonly RootView[],
  key: Hash64 = xxh64(collection),
): RootView[] {
  const weighted = hasNonUnitWeight(roots);
  return roots
    .map((r) => {
      const u = unitScore(key, r.hash);
      return { r, s: weighted ? -r.weight / Math.log(u) : u };
    })
    .sort((a, b) => b.s - a.s || a.r.index - b.r.index)
    .map((x) => x.r);
}

/**
 * Least used: the placeable root with the fewest bytes per unit of weight when every placeable root's
 * usage is known, otherwise the fewest collections per unit of weight; ties go to the lower root index.
 */
export class LeastUsedStrategy implements PlacementStrategy {
  readonly name = "LeastUsed";
  choose(_collection: CollectionId, context: PlacementContext): number {
    const roots = eligible(context);
    const byBytes = roots.every((r) => r.bytes !== undefined);
    const use = (r: RootView) => (byBytes ? (r.bytes as number) : r.collections) / r.weight;
    let best = roots[0] as RootView;
    for (const r of roots) {
      const a = use(r);
      const b = use(best);
      if (a < b || (a === b && r.index < best.index)) best = r;
    }
    return best.index;
  }
}

/** Names of the built-in strategies, as written in configuration. */
export const STRATEGY_NAMES = ["RoundRobin", "Hash", "LeastUsed"] as const;
/** One of {@link STRATEGY_NAMES}. */
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** Creates a built-in strategy by its configuration name; throws {@link InvalidArgumentError} otherwise. */
export function createStrategy(name: string, options: HashStrategyOptions = {}): PlacementStrategy {
  switch (name) {
    case "RoundRobin":
      return new RoundRobinStrategy();
    case "Hash":
      return new HashStrategy(options);
    case "LeastUsed":
      return new LeastUsedStrategy();
    default:
      throw new InvalidArgumentError(
        `unknown distribution strategy ${JSON.stringify(name)}; expected one of ${STRATEGY_NAMES.join(", ")}`,
      );
  }
}
