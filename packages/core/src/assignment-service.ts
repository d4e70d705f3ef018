import type { CapacityState, RootCapacity } from "./capacity.js";
import { type CollectionId, parseCollectionId } from "./collection-id.js";
import { COMPONENT_TYPES, type ComponentType, parseComponentType } from "./component.js";
import {
  EmptyRootListError,
  InvalidArgumentError,
  RootOfflineError,
  StoreConflictError,
  UnknownRootError,
} from "./errors.js";
import { xxh64 } from "./hash.js";
import {
  type Assignment,
  type AssignmentStore,
  InMemoryAssignmentStore,
  type PutIfAbsentResult,
  type StoreEvent,
} from "./assignment-store.js";
import { type StorageRoot, parseRootList, type ParseStorageUrlOptions } from "./storage-url.js";
import {
  RoundRobinStrategy,
  createStrategy,
  isPlaceable,
  type PlacementStrategy,
  type RootState,
  type RootView,
  type StrategyName,
} from "./strategy.js";

/** A root in a component's configuration: a URL, or a URL with a weight and an initial state. */
export type RootSpec =
  | string
  | { readonly url: string; readonly weight?: number; readonly state?: RootState };

/** Placement configuration of one component. */
export interface ComponentPlacementConfig {
  /** The component's storage roots, in order (the order gives each root its index). */
  readonly roots: readonly RootSpec[];
  /** Strategy by name or instance. Default `RoundRobin`, or `Hash` when `collectionAffinity` is on. */
  readonly strategy?: StrategyName | PlacementStrategy;
  /** The original design's switch: when true, placement is by stable hash (`Hash`) whatever `strategy` says. */
  readonly collectionAffinity?: boolean;
  /** Bounded-load factor ε for `Hash` (see {@link HashStrategyOptions}). */
  readonly boundedLoad?: number;
}

/** Options of {@link AssignmentService}. */
export interface AssignmentServiceOptions {
  /** Per component: its roots and strategy. Components left out cannot be assigned. */
  readonly components: Partial<Record<ComponentType, ComponentPlacementConfig>>;
  /** Where assignments live. Default: a new {@link InMemoryAssignmentStore}. */
  readonly store?: AssignmentStore;
  /** Resolves relative `file:` roots. */
  readonly urlOptions?: ParseStorageUrlOptions;
  /**
   * Allow placing a collection the store does not know while some root of its component is offline.
   * Default false for non-authoritative stores: the collection might live in that offline root.
   */
  readonly placeWhileRootsOffline?: boolean;
  /** Clock for `assignedAt` (tests). */
  readonly now?: () => number;
}

/** A change of the assignment map, for observers (metrics, logs, caches). */
export type AssignmentEvent =
  | { readonly type: "assigned"; readonly assignment: Assignment; readonly rootIndex: number }
  | { readonly type: "recorded"; readonly assignment: Assignment; readonly rootIndex: number }
  | { readonly type: "removed"; readonly assignment: Assignment; readonly rootIndex: number }
  | {
      readonly type: "root-state";
      readonly component: ComponentType;
      readonly url: string;
      readonly state: RootState;
    }
  | {
      readonly type: "root-capacity";
      readonly component: ComponentType;
      readonly url: string;
      /** The new state; `undefined` when the measurement was cleared. */
      readonly capacity: CapacityState | undefined;
    };

/** Per-root figures in {@link ComponentStats}. */
export interface RootStats {
  readonly url: string;
  readonly index: number;
  readonly state: RootState;
  readonly weight: number;
  readonly collections: number;
  readonly bytes: number | undefined;
  /** Space figures, when measured ({@link AssignmentService.setRootCapacity}). */
  readonly capacity?: RootCapacity;
}

/** Figures of one component in {@link AssignmentService.stats}. */
export interface ComponentStats {
  readonly component: ComponentType;
  readonly strategy: string;
  readonly total: number;
  readonly roots: readonly RootStats[];
  /** max/mean of collections per active root (1 = perfectly even; 0 when empty). */
  readonly skew: number;
  readonly cursor: number;
}

interface MutableRoot {
  url: string;
  index: number;
  state: RootState;
  weight: number;
  collections: number;
  bytes: number | undefined;
  hash: { hi: number; lo: number };
  /** `capacity.state` (what strategies read). */
  capacity: CapacityState | undefined;
  usage: RootCapacity | undefined;
}

class ComponentPlacement {
  readonly roots: MutableRoot[];
  readonly storageRoots: StorageRoot[];
  readonly byUrl = new Map<string, MutableRoot>();
  readonly byCollection = new Map<string, Assignment>();
  readonly inflight = new Map<string, Promise<Assignment>>();
  /** The collection a synchronous placement is storing right now (its store echo is ignored). */
  placingSync: string | undefined;
  cursor = 0;

  constructor(
    readonly component: ComponentType,
    readonly strategy: PlacementStrategy,
    specs: readonly RootSpec[],
    urlOptions: ParseStorageUrlOptions | undefined,
  ) {
    if (specs.length === 0) throw new EmptyRootListError(component);
    const urls = specs.map((s) => (typeof s === "string" ? s : s.url));
    this.storageRoots = parseRootList(urls, urlOptions);
    this.roots = this.storageRoots.map((root, index) => {
      const spec = specs[index] as RootSpec;
      const weight = typeof spec === "string" ? 1 : (spec.weight ?? 1);
      if (!(weight > 0 && Number.isFinite(weight))) {
        throw new InvalidArgumentError(
          `weight of root ${root.url} (${component}) must be a positive number (got ${weight})`,
        );
      }
      const r: MutableRoot = {
        url: root.url,
        index,
        state: typeof spec === "string" ? "active" : (spec.state ?? "active"),
        weight,
        collections: 0,
        bytes: undefined,
        hash: xxh64(root.url),
        capacity: undefined,
        usage: undefined,
      };
      this.byUrl.set(root.url, r);
      return r;
    });
  }

  root(url: string): MutableRoot {
    const r = this.byUrl.get(url);
    if (!r) throw new UnknownRootError(this.component, url);
    return r;
  }

  /** Applies an entry to the cache; returns false when it was already there. */
  apply(a: Assignment): boolean {
    const prev = this.byCollection.get(a.collection);
    if (prev && prev.url === a.url) return false;
    if (prev) this.unapply(prev);
    const r = this.byUrl.get(a.url);
    this.byCollection.set(a.collection, a);
    if (r) r.collections++;
    return true;
  }

  unapply(a: Assignment): void {
    if (this.byCollection.get(a.collection) !== a) return;
    this.byCollection.delete(a.collection);
    const r = this.byUrl.get(a.url);
    if (r) r.collections--;
  }
}

function evenWeights(roots: readonly MutableRoot[]): boolean {
  const active = roots.filter(isPlaceable);
  return active.every((r) => r.weight === (active[0] as MutableRoot).weight);
}

/**
 * Decides, remembers and reports where each collection's components live.
 *
 * `assign` is idempotent: a collection keeps its root for good. Concurrent calls for one collection
 * in this process share one decision (promise de-duplication); across processes the store's
 * compare-and-set picks one winner and everyone adopts it.
 *
 * @example
 * const service = new AssignmentService({
 *   components: { wal: { roots: ["file:///mnt/nvme1/wal", "file:///mnt/nvme2/wal"] } },
 * });
 * const a = await service.assign("orders", "wal"); // { url: "file:///mnt/nvme1/wal", ... }
 */
export class AssignmentService {
  readonly store: AssignmentStore;
  readonly #components = new Map<ComponentType, ComponentPlacement>();
  readonly #listeners = new Set<(event: AssignmentEvent) => void>();
  readonly #now: () => number;
  readonly #placeWhileOffline: boolean;
  #unwatch: (() => void) | undefined;

  constructor(options: AssignmentServiceOptions) {
    this.store = options.store ?? new InMemoryAssignmentStore();
    this.#now = options.now ?? Date.now;
    this.#placeWhileOffline = options.placeWhileRootsOffline ?? false;
    for (const [name, config] of Object.entries(options.components)) {
      const component = parseComponentType(name);
      if (!config) continue;
      const strategy =
        config.collectionAffinity === true
          ? createStrategy("Hash", { boundedLoad: config.boundedLoad })
          : typeof config.strategy === "object"
            ? config.strategy
            : createStrategy(config.strategy ?? "RoundRobin", { boundedLoad: config.boundedLoad });
      this.#components.set(
        component,
        new ComponentPlacement(component, strategy, config.roots, options.urlOptions),
      );
    }
  }

  /** Components this service places, in the canonical order. */
  get components(): ComponentType[] {
    return COMPONENT_TYPES.filter((c) => this.#components.has(c));
  }

  /** The parsed roots of a component, in configured order. */
  roots(component: ComponentType): readonly StorageRoot[] {
    return this.#placement(component).storageRoots;
  }

  /**
   * Loads every assignment already in the store into the cache and follows the store's changes
   * (for shared stores, where other nodes place collections too). Call once at start.
   */
  async load(): Promise<void> {
    for (const a of await this.store.list()) this.#components.get(a.component)?.apply(a);
    this.#refreshCursors();
    if (!this.#unwatch && this.store.watch) this.#unwatch = this.store.watch((e) => this.#onStoreEvent(e));
  }

  /** Stops following the store. Does not close the store. */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /**
   * Returns the collection's root for `component`, placing it on first use.
   * @throws InvalidCollectionIdError, NoEligibleRootError, RootOfflineError (its home, or possibly its home, is offline)
   */
  assign(collection: string, component: ComponentType): Promise<Assignment> {
    let id: CollectionId;
    let p: ComponentPlacement;
    try {
      id = parseCollectionId(collection);
      p = this.#placement(component);
    } catch (err) {
      return Promise.reject(err);
    }
    const known = p.byCollection.get(id);
    if (known) {
      const root = p.byUrl.get(known.url);
      if (root?.state === "offline") return Promise.reject(new RootOfflineError(id, component, known.url));
      return Promise.resolve(known);
    }
    const pending = p.inflight.size === 0 ? undefined : p.inflight.get(id);
    if (pending) return pending;
    if (this.store.putIfAbsentSync && !this.store.authoritative) {
      // In-process store: decide and record synchronously; nothing can interleave.
      try {
        return Promise.resolve(this.#placeSync(p, id));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const decision = this.#place(p, id).finally(() => p.inflight.delete(id));
    p.inflight.set(id, decision);
    return decision;
  }

  /** Picks the root for a collection nobody has placed yet (throws when placing is unsafe). */
  #choose(p: ComponentPlacement, id: CollectionId): MutableRoot {
    if (!this.store.authoritative && !this.#placeWhileOffline) {
      for (const r of p.roots) {
        if (r.state === "offline") {
          throw new RootOfflineError(
            id,
            p.component,
            r.url,
            "it may live there; set placeWhileRootsOffline or bring the root back",
          );
        }
      }
    }
    const index = p.strategy.choose(id, {
      component: p.component,
      roots: p.roots as RootView[],
      cursor: p.cursor,
    });
    const root = p.roots[index];
    if (!root || !isPlaceable(root)) {
      throw new InvalidArgumentError(
        `strategy ${p.strategy.name} chose root index ${index}, which is not an active root with space`,
      );
    }
    return root;
  }

  #placeSync(p: ComponentPlacement, id: CollectionId): Assignment {
    const root = this.#choose(p, id);
    // The store may echo the entry to its watchers (us) before returning: #onStoreEvent skips it.
    p.placingSync = id;
    let result: PutIfAbsentResult;
    try {
      result = (this.store.putIfAbsentSync as NonNullable<AssignmentStore["putIfAbsentSync"]>).call(
        this.store,
        {
          collection: id,
          component: p.component,
          url: root.url,
          assignedAt: this.#now(),
        },
      );
    } finally {
      p.placingSync = undefined;
    }
    if (!result.created) return this.#adopt(p, result.assignment, "recorded");
    // Fast path: a new entry that nobody else can have cached (the collection was unknown a moment ago).
    p.cursor = (root.index + 1) % p.roots.length;
    p.byCollection.set(id, result.assignment);
    root.collections++;
    if (this.#listeners.size > 0)
      this.#emit({ type: "assigned", assignment: result.assignment, rootIndex: root.index });
    return result.assignment;
  }

  async #place(p: ComponentPlacement, id: CollectionId): Promise<Assignment> {
    const existing = this.store.authoritative ? await this.store.get(p.component, id) : undefined;
    if (existing) return this.#adopt(p, existing, "recorded");
    const root = this.#choose(p, id);
    const index = root.index;
    // Reserve the slot before awaiting the store, so concurrent placements of other collections
    // see this one in the counts (otherwise they would all pick the same emptiest root).
    root.collections++;
    p.cursor = (index + 1) % p.roots.length;
    let result: Awaited<ReturnType<AssignmentStore["putIfAbsent"]>>;
    try {
      result =
        // The store's cluster-wide counter rotates evenly: used only while the active roots weigh the same.
        this.store.allocate && p.strategy instanceof RoundRobinStrategy && evenWeights(p.roots)
          ? await this.store.allocate({
              collection: id,
              component: p.component,
              candidates: p.roots.filter(isPlaceable).map((r) => r.url),
              assignedAt: this.#now(),
            })
          : await this.store.putIfAbsent({
              collection: id,
              component: p.component,
              url: root.url,
              assignedAt: this.#now(),
            });
    } finally {
      root.collections--;
    }
    return this.#adopt(p, result.assignment, result.created ? "assigned" : "recorded");
  }

  #adopt(p: ComponentPlacement, a: Assignment, type: "assigned" | "recorded"): Assignment {
    const root = p.byUrl.get(a.url);
    if (!root)
      throw new StoreConflictError(
        `store holds ${a.collection} (${a.component}) in ${a.url}, which is not a configured root`,
      );
    if (p.apply(a)) this.#emit({ type, assignment: a, rootIndex: root.index });
    if (root.state === "offline") throw new RootOfflineError(a.collection, a.component, a.url);
    return a;
  }

  /** The collection's assignment for `component` if it has one (a memory read). */
  get(collection: string, component: ComponentType): Assignment | undefined {
    return this.#components.get(component)?.byCollection.get(collection);
  }

  /** Index of a root URL in the component's configured list. */
  rootIndex(component: ComponentType, url: string): number {
    return this.#placement(component).root(url).index;
  }

  /**
   * Records an assignment found on storage (discovery) or decided elsewhere. Idempotent for the same
   * root; a different root already stored is a {@link StoreConflictError} naming both.
   */
  async record(input: {
    collection: string;
    component: ComponentType;
    url: string;
    assignedAt?: number;
  }): Promise<Assignment> {
    const id = parseCollectionId(input.collection);
    const p = this.#placement(input.component);
    const root = p.root(input.url);
    const result = await this.store.putIfAbsent({
      collection: id,
      component: p.component,
      url: root.url,
      assignedAt: input.assignedAt ?? this.#now(),
    });
    const stored = result.assignment;
    if (stored.url !== root.url) {
      throw new StoreConflictError(
        `collection ${id} (${p.component}) is recorded in ${stored.url} but was found in ${root.url}`,
      );
    }
    if (p.apply(stored)) {
      p.cursor = p.byCollection.size % p.roots.length;
      this.#emit({ type: "recorded", assignment: stored, rootIndex: root.index });
    }
    return stored;
  }

  /** Forgets a collection's assignment (after its data is dropped, or an operator's release). */
  async remove(collection: string, component: ComponentType): Promise<boolean> {
    const id = parseCollectionId(collection);
    const p = this.#placement(component);
    const a = p.byCollection.get(id);
    const deleted = await this.store.delete(component, id);
    if (a) {
      p.unapply(a);
      this.#emit({ type: "removed", assignment: a, rootIndex: p.byUrl.get(a.url)?.index ?? -1 });
    }
    return deleted || a !== undefined;
  }

  /**
   * Moves a collection's assignment from root `from` to root `to` (the last step of a verified move): a
   * compare-and-set in the store on the old URL, then the cache. Idempotent when the store already names
   * `to` (a resumed move).
   * @throws StoreConflictError when the store names neither root (another move or a drop won);
   *   UnknownRootError when either URL is not a configured root; InvalidArgumentError when the store
   *   cannot reassign
   */
  async reassign(
    collection: string,
    component: ComponentType,
    from: string,
    to: string,
  ): Promise<Assignment> {
    const id = parseCollectionId(collection);
    const p = this.#placement(component);
    const fromRoot = p.root(from);
    const toRoot = p.root(to);
    if (!this.store.reassign) throw new InvalidArgumentError("this assignment store cannot reassign");
    const result = await this.store.reassign(component, id, fromRoot.url, toRoot.url);
    const stored = result.assignment;
    if (stored?.url !== toRoot.url) {
      throw new StoreConflictError(
        `collection ${id} (${component}) is recorded in ${stored?.url ?? "no root"}, not in ${fromRoot.url} or ${toRoot.url}`,
      );
    }
    const prev = p.byCollection.get(id);
    if (p.apply(stored)) {
      if (prev) this.#emit({ type: "removed", assignment: prev, rootIndex: fromRoot.index });
      this.#emit({ type: "recorded", assignment: stored, rootIndex: toRoot.index });
    }
    return stored;
  }

  /**
   * The root the component's strategy would choose for `collection` now, among its active roots, without
   * recording anything (where a drain or a rebalance sends a collection). `cursor` stands in for the
   * round-robin position (a caller spreading many collections advances it).
   * @throws NoEligibleRootError when no root is active; RootOfflineError while a root is offline and the
   *   store is not authoritative
   */
  preview(collection: string, component: ComponentType, cursor?: number): string {
    const id = parseCollectionId(collection);
    const p = this.#placement(component);
    if (cursor === undefined) return this.#choose(p, id).url;
    const saved = p.cursor;
    p.cursor = ((cursor % p.roots.length) + p.roots.length) % p.roots.length;
    try {
      return this.#choose(p, id).url;
    } finally {
      p.cursor = saved;
    }
  }

  /** Every assignment of a component. */
  list(component: ComponentType): Assignment[] {
    return [...this.#placement(component).byCollection.values()];
  }

  /** Sets a root's state: `cordoned` stops new placements, `offline` also blocks its collections. */
  setRootState(component: ComponentType, url: string, state: RootState): void {
    const root = this.#placement(component).root(url);
    if (root.state === state) return;
    root.state = state;
    this.#emit({ type: "root-state", component, url: root.url, state });
  }

  /**
   * Records a root's measured space (or clears it with `undefined`). A `full` root gets no new
   * collections; its own collections stay. Emits `root-capacity` when the state changes.
   */
  setRootCapacity(component: ComponentType, url: string, capacity: RootCapacity | undefined): void {
    const root = this.#placement(component).root(url);
    const before = root.capacity;
    root.usage = capacity;
    root.capacity = capacity?.state;
    if (before !== root.capacity)
      this.#emit({ type: "root-capacity", component, url: root.url, capacity: root.capacity });
  }

  /** Reports a root's used bytes (for `LeastUsed`). */
  setRootUsage(component: ComponentType, url: string, bytes: number): void {
    this.#placement(component).root(url).bytes = bytes;
  }

  /** Per component: totals, per-root counts and states, skew and the round-robin cursor. */
  stats(): ComponentStats[] {
    return this.components.map((component) => {
      const p = this.#placement(component);
      const active = p.roots.filter((r) => r.state !== "offline");
      const counts = (active.length ? active : p.roots).map((r) => r.collections);
      const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
      return {
        component,
        strategy: p.strategy.name,
        total: p.byCollection.size,
        roots: p.roots.map((r) => ({
          url: r.url,
          index: r.index,
          state: r.state,
          weight: r.weight,
          collections: r.collections,
          bytes: r.bytes,
          ...(r.usage ? { capacity: r.usage } : {}),
        })),
        skew: mean === 0 ? 0 : Math.max(...counts) / mean,
        cursor: p.cursor,
      };
    });
  }

  /** Subscribes to assignment changes; returns the unsubscribe function. */
  on(listener: (event: AssignmentEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #placement(component: ComponentType): ComponentPlacement {
    const p = this.#components.get(component);
    if (!p) {
      parseComponentType(component);
      throw new EmptyRootListError(component);
    }
    return p;
  }

  #refreshCursors(): void {
    for (const p of this.#components.values()) p.cursor = p.byCollection.size % p.roots.length;
  }

  #onStoreEvent(e: StoreEvent): void {
    if (e.type === "put") {
      const p = this.#components.get(e.assignment.component);
      // Our own placement in flight: #place applies it (and reports it as "assigned") when it resolves.
      if (p && (p.placingSync === e.assignment.collection || p.inflight.has(e.assignment.collection))) return;
      if (p?.apply(e.assignment)) {
        this.#emit({
          type: "recorded",
          assignment: e.assignment,
          rootIndex: p.byUrl.get(e.assignment.url)?.index ?? -1,
        });
      }
    } else {
      const p = this.#components.get(e.component);
      const a = p?.byCollection.get(e.collection);
      if (p && a) {
        p.unapply(a);
        this.#emit({ type: "removed", assignment: a, rootIndex: p.byUrl.get(a.url)?.index ?? -1 });
      }
    }
  }

  #emit(event: AssignmentEvent): void {
    for (const l of this.#listeners) l(event);
  }
}
