import type { CollectionId } from "./collection-id.js";
import type { ComponentType } from "./component.js";

/** Where one collection's component lives. Immutable once stored. */
export interface Assignment {
  readonly collection: CollectionId;
  readonly component: ComponentType;
  /** Canonical URL of the storage root. */
  readonly url: string;
  /** When the collection was placed (or, for a discovered one, its oldest data file), ms since the epoch. */
  readonly assignedAt: number;
}

/** Result of {@link AssignmentStore.putIfAbsent}. */
export interface PutIfAbsentResult {
  /** True when this call created the entry; false when one existed (the winner of a race). */
  readonly created: boolean;
  /** The entry now stored: the given one when `created`, otherwise the existing one. */
  readonly assignment: Assignment;
}

/** Result of {@link AssignmentStore.reassign}. */
export interface ReassignResult {
  /** True when this call changed the entry from `from` to `to`. */
  readonly moved: boolean;
  /** The entry now stored (`undefined` when there is none): on success, the one naming `to`. */
  readonly assignment: Assignment | undefined;
}

/** What {@link AssignmentStore.allocate} is asked to place. */
export interface AllocationRequest {
  readonly component: ComponentType;
  readonly collection: CollectionId;
  /** Active root URLs in configured order; the store picks one. */
  readonly candidates: readonly string[];
  readonly assignedAt: number;
}

/** A change made to the store, possibly by another node (shared stores). */
export type StoreEvent =
  | { readonly type: "put"; readonly assignment: Assignment }
  | { readonly type: "delete"; readonly component: ComponentType; readonly collection: CollectionId };

/**
 * Where assignments live. The one operation that decides placement is {@link putIfAbsent}, a
 * compare-and-set: of several concurrent callers (threads, processes, nodes) exactly one creates
 * the entry and every other one gets the winner back.
 */
export interface AssignmentStore {
  /**
   * True when the store holds every assignment of the deployment (a shared store such as etcd):
   * a collection it does not know is new, even while some root is offline. False for a per-process
   * store whose content is rebuilt from discovery.
   */
  readonly authoritative: boolean;
  /** Every stored assignment of one component (or of all components). */
  list(component?: ComponentType): Promise<Assignment[]>;
  /** One assignment, or `undefined`. */
  get(component: ComponentType, collection: CollectionId): Promise<Assignment | undefined>;
  /** Stores `assignment` unless an entry for its (component, collection) exists; see {@link PutIfAbsentResult}. */
  putIfAbsent(assignment: Assignment): Promise<PutIfAbsentResult>;
  /**
   * Optional synchronous {@link putIfAbsent} for in-process stores. When present, the service decides
   * and records a placement without yielding, so no other placement can interleave.
   */
  putIfAbsentSync?(assignment: Assignment): PutIfAbsentResult;
  /**
   * Optional: places a new collection on one of `candidates` (the component's active roots in configured
   * order) with a shared round-robin position kept by the store itself, in the same compare-and-set as the
   * entry. Shared stores offer it so that round-robin is exact across nodes; the service uses it for the
   * `RoundRobin` strategy when present.
   */
  allocate?(request: AllocationRequest): Promise<PutIfAbsentResult>;
  /**
   * Optional: moves an existing entry from root `from` to root `to`, as one compare-and-set on the old URL
   * (the commit of a verified move, never a placement). An entry already naming `to` is left as it is
   * (`moved: false`, idempotent for a resumed move); an absent entry or one naming a third root is left
   * unchanged (`moved: false`, the entry returned): the caller sees that it lost a race.
   */
  reassign?(
    component: ComponentType,
    collection: CollectionId,
    from: string,
    to: string,
  ): Promise<ReassignResult>;
  /** Removes an entry; resolves to false when there was none. */
  delete(component: ComponentType, collection: CollectionId): Promise<boolean>;
  /** Subscribes to changes made through this store or by other nodes; returns the unsubscribe function. */
  watch?(listener: (event: StoreEvent) => void): () => void;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** The in-process {@link AssignmentStore}: a map per component. Not shared between processes. */
export class InMemoryAssignmentStore implements AssignmentStore {
  readonly authoritative: boolean = false;
  readonly #maps = new Map<ComponentType, Map<string, Assignment>>();
  readonly #listeners = new Set<(event: StoreEvent) => void>();

  #map(component: ComponentType): Map<string, Assignment> {
    let m = this.#maps.get(component);
    if (!m) {
      m = new Map();
      this.#maps.set(component, m);
    }
    return m;
  }

  async list(component?: ComponentType): Promise<Assignment[]> {
    if (component) return [...this.#map(component).values()];
    return [...this.#maps.values()].flatMap((m) => [...m.values()]);
  }

  async get(component: ComponentType, collection: CollectionId): Promise<Assignment | undefined> {
    return this.#map(component).get(collection);
  }

  async putIfAbsent(assignment: Assignment): Promise<PutIfAbsentResult> {
    return this.putIfAbsentSync(assignment);
  }

  putIfAbsentSync(assignment: Assignment): PutIfAbsentResult {
    const m = this.#map(assignment.component);
    const existing = m.get(assignment.collection);
    if (existing) return { created: false, assignment: existing };
    m.set(assignment.collection, assignment);
    this.#emit({ type: "put", assignment });
    return { created: true, assignment };
  }

  async reassign(
    component: ComponentType,
    collection: CollectionId,
    from: string,
    to: string,
  ): Promise<ReassignResult> {
    const m = this.#map(component);
    const existing = m.get(collection);
    if (existing?.url !== from) return { moved: false, assignment: existing };
    const assignment: Assignment = { ...existing, url: to };
    m.set(collection, assignment);
    this.#emit({ type: "put", assignment });
    return { moved: true, assignment };
  }

  async delete(component: ComponentType, collection: CollectionId): Promise<boolean> {
    const deleted = this.#map(component).delete(collection);
    if (deleted) this.#emit({ type: "delete", component, collection });
    return deleted;
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: StoreEvent): void {
    for (const l of this.#listeners) l(event);
  }
}
