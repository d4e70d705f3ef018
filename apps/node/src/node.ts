import {
  type AssignmentService,
  type AssignmentStore,
  type CollectionId,
  type ComponentType,
  collectionIdProblem,
} from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryReport } from "@proximadb/discovery";
import type { WalEntry, WriteAheadLog } from "@proximadb/wal";
import type { Logger } from "pino";
import { appendEntries } from "./append.js";
import { CollectionCatalog } from "./catalog.js";
import {
  assertCreatable,
  collectionView,
  offlineRootsOf,
  unavailable,
  unknownCollection,
} from "./availability.js";
import {
  type CollectionDefinition,
  type CollectionInput,
  type CollectionView,
  type ComponentUsage,
  type RecordInput,
  type RecordOutput,
  newDefinition,
} from "./collection.js";
import { CollectionState, type HealthView, countStates, toWalEntries } from "./collection-state.js";
import type { NodeCluster } from "./cluster/node-cluster.js";
import type { NodeConfig } from "./config.js";
import type { RootHealth } from "./deployment.js";
import { CollectionDrops } from "./drops.js";
import { collectionUsage } from "./engines/component-store.js";
import { type OpenedStorage, type StorageNodeOptions, openStorage } from "./engines/open.js";
import type { EngineRegistry } from "./engines/registry.js";
import { NodeError } from "./errors.js";
import { type FlushResult, Maintenance } from "./maintenance.js";
import type { NodeMetrics } from "./metrics.js";
import { type OrphanCollection, loadCollections, replayWal } from "./recovery.js";
import { adoptState } from "./cluster/adopt.js";
import { nodeStats, phaseTimer } from "./report.js";

/**
 * The storage node: the WAL and the record engines (VIPER, LSM) over the configured roots, collection
 * definitions and checkpoints in the {@link CollectionCatalog}, and recovery at open (every acknowledged
 * record readable again). Input is typed: the HTTP route schemas validate it before it gets here.
 */
export class StorageNode {
  readonly config: NodeConfig;
  readonly service: AssignmentService;
  readonly wal: WriteAheadLog;
  /** Every open engine, by kind and component. */
  readonly engines: EngineRegistry;
  readonly search: OpenedStorage["search"]; // search and index upkeep (`search`, `status`)
  /** Definitions and WAL checkpoints. */
  readonly catalog: CollectionCatalog;
  /** Discovery reports made at open (one per component; roots created at this open online). */
  readonly reports: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>;
  readonly orphans: OrphanCollection[] = []; // collections with data but no readable definition
  readonly initializedRoots: string[]; // roots created (marker written) at this open
  readonly openTimings: Record<string, number>; // ms the open took, by phase
  /** Which roots may be written now (the deployment assessment, kept current by a re-probe). */
  readonly health: RootHealth;
  /** Several nodes (`[assignment_store] type = "etcd"`): ownership, set once the node listens. */
  cluster: NodeCluster | undefined;
  readonly #store: AssignmentStore;
  readonly #opened: OpenedStorage;
  readonly #log: Logger;
  readonly #metrics: NodeMetrics | undefined;
  readonly #maintenance: Maintenance;
  readonly #drops: CollectionDrops;
  readonly #states = new Map<string, CollectionState>();
  readonly #creating = new Map<string, Promise<CollectionView>>();
  #closing = false;

  private constructor(
    opened: OpenedStorage,
    o: {
      config: NodeConfig;
      logger: Logger;
      metrics: NodeMetrics | undefined;
      timings: Record<string, number>;
    },
  ) {
    this.config = o.config;
    this.service = opened.service;
    this.#store = opened.store;
    this.#opened = opened;
    this.wal = opened.wal;
    this.engines = opened.registry;
    this.search = opened.search;
    this.catalog = new CollectionCatalog(this.engines.store("metadata"));
    this.reports = this.engines.reports();
    this.initializedRoots = opened.initializedRoots;
    this.health = opened.health;
    this.#log = o.logger;
    this.#metrics = o.metrics;
    this.openTimings = o.timings;
    this.#maintenance = new Maintenance({
      config: o.config,
      catalog: this.catalog,
      checkpointWal: (id, sequence) => this.wal.checkpoint(id, sequence),
      walEpoch: (id) => this.wal.epochOf(id),
      logger: o.logger,
      metrics: o.metrics,
      closing: () => this.#closing,
    });
    this.#drops = new CollectionDrops({
      catalog: this.catalog,
      engines: this.engines,
      logger: o.logger,
      retryMs: o.config.engine.backgroundIntervalMs,
      retire: (id) => this.cluster?.ownership.retire(id),
    });
    this.#maintenance.watchEngines(this.engines.records(), (id) => this.#states.get(id));
    this.search.countReads = (id, work) => this.reading(id, work); // index builds' scans hold moves' retirement
    o.metrics?.watchCollections(() => countStates(this.#states.values(), this.#drops.list().length));
  }

  /**
   * Opens the node: the deployment (a first start initialises every root, new empty roots join; a known
   * root the configuration does not name refuses the start), discovery of every component once, the
   * engines, the collection definitions, and recovery (each available collection's WAL replayed into
   * memory after its last checkpoint; a collection with an offline root is kept, unavailable, unreplayed).
   * @throws DeploymentError when the deployment must not be served (see `assertServable`)
   */
  static async open(options: StorageNodeOptions): Promise<StorageNode> {
    const { config, logger, metrics } = options;
    const timings: Record<string, number> = {};
    const lap = phaseTimer(timings);
    const opened = await openStorage(options, lap);
    try {
      const node = new StorageNode(opened, { config, logger, metrics, timings });
      const { catalog, engines, service, wal } = node;
      const offlineMetadata = node.health.offline("metadata").map((c) => c.url);
      const recovery = { catalog, engines, service, wal, logger, offlineMetadata };
      const { states, orphans, dropping } = await loadCollections(recovery);
      // Several nodes: a collection is served only once this node owns it (`adopt`), never at open.
      const served = config.assignmentStore.type === "etcd" ? [] : states;
      for (const s of served) node.#states.set(s.definition.id, s);
      node.orphans.push(...orphans);
      lap("definitions");
      // A collection with an offline root is kept (unavailable) and replayed when it is back, at a restart.
      const available = served.filter((s) => node.#available(s));
      await replayWal(available, recovery);
      node.search.start(available.map((s) => s.definition));
      lap("recovery");
      node.#drops.resume(config.assignmentStore.type === "etcd" ? [] : dropping); // cluster: at takeover
      return node;
    } catch (err) {
      await opened.close().catch(() => undefined);
      throw err;
    }
  }

  /** Starts the background flush/compaction loop and the periodic re-probe of the roots. */
  startBackground(): void {
    this.#maintenance.start(() => [...this.#states.values()].filter((s) => this.#available(s)));
    this.health.start(this.config.deployment.probeIntervalMs);
  }

  // ---------------------------------------------------------------- collections

  /** Every collection definition, by id. */
  collections(): CollectionDefinition[] {
    return [...this.#states.values()].map((s) => s.definition).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The API view of a collection (with `state: "unavailable"` and its offline roots while one is away). */
  view(definition: CollectionDefinition): CollectionView {
    return collectionView(definition, this.service, this.health);
  }

  /**
   * Creates a collection: places its WAL and engine, writes the definition with an exclusive create (the
   * commit point), then lets the engine prepare its files. Creating never deletes: an id with data
   * anywhere (an orphan, or a collection on an offline root) is refused, and so is any new id while a
   * root it could be placed in is offline (that root may hold it).
   * @throws NodeError `AlreadyExists` (defined, being created, or an orphan), `Unavailable` (a root of
   *   its components is offline, or closing); InvalidCollectionIdError for a bad id
   */
  createCollection(input: CollectionInput): Promise<CollectionView> {
    const id = input.id as CollectionId;
    if (this.#states.has(id) || this.#creating.has(id))
      return Promise.reject(new NodeError("AlreadyExists", `collection ${id} already exists`));
    if (this.#drops.has(id))
      return Promise.reject(new NodeError("AlreadyExists", `collection ${id} is being dropped; retry later`));
    this.#assertOpen();
    const run = () => this.#create(id, input);
    const p = (this.cluster?.create(id, input.engine, run) ?? run()).finally(() => this.#creating.delete(id));
    this.#creating.set(id, p);
    return p;
  }

  async #create(id: CollectionId, input: CollectionInput): Promise<CollectionView> {
    const { engine: kind, dimension } = input;
    assertCreatable(id, ["wal", kind, "metadata"], this.orphans, this.health);
    const engine = this.engines.record(kind);
    const wal = await this.engines.store("wal").place(id);
    const data = await engine.store.place(id);
    const definition = newDefinition(id, input, { wal, data });
    await this.catalog.create(definition);
    await engine.create(id, dimension);
    this.#states.set(id, new CollectionState(definition, engine));
    this.#log.info(
      { collection: id, engine: kind, dimension, placements: definition.placements },
      "collection created",
    );
    return this.view(definition);
  }

  /** The collection's definition (also of an unavailable collection). @throws NodeError `NotFound` */
  definition(id: string): CollectionDefinition {
    return this.#state(id, false).definition;
  }

  /**
   * The definition of a collection this node serves, or (with a shared store such as etcd) of one on
   * shared roots, read from its metadata root. @throws NodeError `NotFound`
   */
  async findDefinition(id: string): Promise<CollectionDefinition> {
    const local = this.#states.get(id);
    if (local) return local.definition;
    if (this.#drops.has(id)) throw new NodeError("NotFound", `collection ${id} is being dropped`);
    if (!this.#store.authoritative || collectionIdProblem(id) !== undefined) throw this.#unknown(id);
    if (!this.catalog.has(id)) {
      // The cache follows the store by a watch; a collection placed a moment ago may not be in it yet.
      const stored = await this.#store.get("metadata", id as CollectionId);
      if (stored) await this.service.record(stored);
    }
    // No definition (yet, or any more): being created or dropped elsewhere.
    const def = await this.catalog.definition(id);
    if (!def || def.id !== id) throw this.#unknown(id);
    return def;
  }

  /**
   * Files and bytes per component of one collection (one listing of its directory per component); a
   * component on an offline root is left out (the view names that root).
   */
  async usage(collection: string | CollectionDefinition): Promise<Record<string, ComponentUsage>> {
    const def = typeof collection === "string" ? this.#state(collection, false).definition : collection;
    return collectionUsage(
      this.engines.storesOf(def),
      def.id,
      (url) => this.health.refusal(url) !== undefined,
    );
  }

  /**
   * Drops a collection by the protocol of {@link CollectionDrops} (tombstone first, metadata last, the
   * id reserved until it completes); a drop in progress is awaited, not started again. A collection with
   * an offline root is not dropped (that root would keep part of it), unless the root left the
   * configuration for good.
   * @throws NodeError `NotFound`; `Unavailable` when a root is offline or a step failed (then retried)
   */
  async dropCollection(id: string): Promise<void> {
    const running = this.#drops.running(id);
    if (running) return running;
    const state = this.#state(id, false);
    const all = offlineRootsOf(state.definition, this.service, this.health);
    const offline = all.filter((r) => r.status !== "unconfigured");
    if (offline.length > 0) throw unavailable(state.definition.id, offline);
    state.dropped = true;
    clearTimeout(state.retry);
    this.#states.delete(id);
    await this.#drops.drop(state.definition.id, {
      definition: state.definition,
      quiesce: () => state.settle(),
      restore: () => {
        state.dropped = false;
        this.#states.set(id, state);
      },
    });
  }

  /** The state of a collection whose records are served (the mover fences its writes). */
  collectionState(id: string): CollectionState {
    return this.#serving(id);
  }

  /** How a collection this node serves is doing (`ready`, `degraded`, `unavailable`); else undefined. */
  collectionHealth(id: string): HealthView | undefined {
    return this.#states.get(id)?.healthView();
  }

  // ---------------------------------------------------------------- records

  /**
   * Appends records; resolves once the WAL made them durable and memory reflects them.
   * @throws NodeError `InvalidArgument` (wrong dimension), `NotFound`
   */
  async putRecords(id: string, records: readonly RecordInput[]): Promise<number> {
    const state = this.#serving(id);
    if (records.length === 0) return 0;
    const entries = toWalEntries(records, state.definition.dimension);
    await this.#append(state, entries);
    return entries.length;
  }

  /** Deletes a record (a tombstone in the WAL, then in memory). @throws NodeError `NotFound` */
  async deleteRecord(id: string, recordId: string): Promise<void> {
    await this.#append(this.#serving(id), [{ op: "delete", id: recordId }]);
  }

  /** Reads a record wherever it is (memory or the engine's files). @throws NodeError `NotFound` */
  async getRecord(id: string, recordId: string): Promise<RecordOutput> {
    return this.#serving(id).record(recordId);
  }

  /** Runs a read of `id`'s files (a search) counted by its state (`CollectionState.read`), if served here. */
  reading<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.#states.get(id)?.read(work) ?? work();
  }

  async #append(state: CollectionState, entries: WalEntry[]): Promise<void> {
    this.#assertOpen();
    const c = { wal: this.wal, flushThresholdBytes: this.config.engine.flushThresholdBytes };
    await appendEntries({ ...c, metrics: this.#metrics, maintenance: this.#maintenance }, state, entries);
    this.cluster?.assertAck(state.definition.id); // durable first, then still the owner: acknowledged
  }

  // ---------------------------------------------------------------- flush and compaction

  /**
   * Writes what memory holds into the engine (a VIPER Parquet file, an LSM SSTable), then records the WAL
   * checkpoint in the catalog and deletes the WAL segments it covers. @throws NodeError `NotFound`
   */
  flush(id: string, trigger = "api"): Promise<FlushResult> {
    return this.#maintenance.flush(this.#serving(id), trigger);
  }

  /** Compacts the collection's engine files. @throws NodeError `NotFound` */
  compact(id: string, trigger = "api"): Promise<{ files: number }> {
    return this.#maintenance.compact(this.#serving(id), trigger);
  }

  // ---------------------------------------------------------------- stats and shutdown

  /** Collections, buffered bytes, orphans, the roots (status now) and per-component placement figures. */
  stats(): Record<string, unknown> {
    return nodeStats(this, [...this.#states.values()], this.#drops.list());
  }

  /** Stops background work, waits for appends, syncs the WAL, closes all (the WAL keeps unflushed records). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.allSettled([...this.#states.values()].map((s) => s.tail));
    await this.#maintenance.stop(this.#states.values());
    await this.#drops.close();
    await Promise.allSettled([...this.#states.values()].flatMap((s) => [s.flushing, s.compacting]));
    await this.#opened.close();
  }

  /** Several nodes: serves a collection this node acquired (`prepare` fences it; see `cluster/adopt.ts`). */
  async adopt(id: string, prepare: (def: CollectionDefinition) => Promise<void>): Promise<void> {
    if (!this.#states.has(id)) this.#states.set(id, await adoptState(this, id, prepare, this.#log));
  }

  /** Several nodes: stops serving a collection (another node owns it now); in-flight work settles. */
  async relinquish(id: string): Promise<void> {
    const state = this.#states.get(id);
    if (state && this.#states.delete(id)) await state.release();
  }

  /** The collection's state; unless `available` is false, refused while a root it needs is offline. */
  #state(id: string, available = true): CollectionState {
    const s = typeof id === "string" ? this.#states.get(id) : undefined;
    if (!s) throw this.#unknown(id);
    if (available) {
      const offline = offlineRootsOf(s.definition, this.service, this.health);
      if (offline.length > 0) throw unavailable(s.definition.id, offline);
    }
    return s;
  }

  #available(s: CollectionState): boolean {
    const offline = offlineRootsOf(s.definition, this.service, this.health);
    return offline.length === 0 && (this.cluster?.serves(s.definition.id) ?? true);
  }

  #unknown(id: string): NodeError {
    return unknownCollection(String(id), this.health);
  }

  /** The state of a collection whose records are served. @throws NodeError `NotFound`, `Unavailable` */
  #serving(id: string): CollectionState {
    const s = this.#state(id);
    if (s.unavailable !== undefined)
      throw new NodeError("Unavailable", `collection ${s.definition.id} is unavailable: ${s.unavailable}`);
    return s;
  }

  #assertOpen(): void {
    if (this.#closing) throw new NodeError("Unavailable", "the node is shutting down");
  }
}
