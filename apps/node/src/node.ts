import {
  type AssignmentService,
  type AssignmentStore,
  type CollectionId,
  type ComponentType,
  type FileSystem,
  ProximaError,
  StoreConflictError,
  UnknownRootError,
  collectionIdProblem,
  isDataFile,
  isFsError,
  listAll,
} from "@proximadb/core";
import type { DiscoveryEvent, DiscoveryReport } from "@proximadb/discovery";
import { EngineBase, type StorageEngine } from "@proximadb/engine";
import { LsmEngine } from "@proximadb/lsm";
import { ViperEngine } from "@proximadb/viper";
import { type WalEntry, WriteAheadLog } from "@proximadb/wal";
import pLimit from "p-limit";
import type { Logger } from "pino";
import {
  CHECKPOINT_FILE,
  type CollectionDefinition,
  DEFINITION_FILE,
  type EngineKind,
  MAX_DIMENSION,
  type Placement,
  decodeLsmValue,
  encodeLsmValue,
  parseDefinition,
  recordIdProblem,
  recordKey,
} from "./collection.js";
import { CollectionState, recordBytes } from "./collection-state.js";
import type { NodeConfig } from "./config.js";
import { NodeError } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";
import {
  type OpenRoots,
  createAssignmentService,
  discoverComponents,
  openAssignmentStore,
  openRoots,
} from "./startup.js";

/** A record as the API takes and returns it. */
export interface RecordInput {
  readonly id: string;
  readonly vector: readonly number[];
  readonly metadata?: Record<string, unknown> | null;
}

/** A record read back. */
export interface RecordOutput {
  readonly id: string;
  readonly vector: number[];
  readonly metadata: Record<string, unknown> | null;
}

/** The collection object of the API (creation response; `GET /collections/:id` adds `storage`). */
export interface CollectionView {
  readonly id: string;
  readonly engine: EngineKind;
  readonly dimension: number;
  readonly createdAt: string;
  readonly placements: Record<string, Placement>;
}

/** Files and bytes of one component of a collection. */
export interface ComponentUsage {
  readonly url: string;
  readonly index: number;
  readonly files: number;
  readonly bytes: number;
}

/** A collection found on storage without a readable definition. Reported, never deleted. */
export interface OrphanCollection {
  readonly collection: string;
  readonly components: ComponentType[];
  readonly reason: string;
}

/** Options of {@link StorageNode.open}. */
export interface StorageNodeOptions {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly metrics?: NodeMetrics;
  /** Discovery progress (progress bar or lines). */
  readonly onDiscoveryEvent?: (e: DiscoveryEvent) => void;
  /** Discovery finished (before roots are initialised and engines open). */
  readonly onDiscovered?: (reports: Partial<Record<ComponentType, DiscoveryReport>>) => void;
  readonly env?: NodeJS.ProcessEnv;
}

const REPLAY_CONCURRENCY = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The storage node: one WAL, VIPER and LSM engine over the configured roots, collection definitions in
 * the metadata component, and recovery at open (every acknowledged record readable again).
 */
export class StorageNode {
  readonly config: NodeConfig;
  readonly service: AssignmentService;
  readonly wal: WriteAheadLog;
  readonly viper: ViperEngine;
  readonly lsm: LsmEngine;
  readonly metadata: EngineBase;
  readonly index: EngineBase | undefined;
  /** Discovery reports made at open (one per component). */
  readonly reports: Partial<Record<ComponentType, DiscoveryReport>>;
  /** Collections with data but no readable definition. */
  readonly orphans: OrphanCollection[];
  /** Roots created (marker written) at this open. */
  readonly initializedRoots: string[];
  /** Milliseconds the open took, by phase. */
  readonly openTimings: Record<string, number>;

  readonly #store: AssignmentStore;
  readonly #log: Logger;
  readonly #metrics: NodeMetrics | undefined;
  readonly #states = new Map<string, CollectionState>();
  readonly #creating = new Map<string, Promise<CollectionView>>();
  #timer: NodeJS.Timeout | undefined;
  #closing = false;
  #background = Promise.resolve();

  private constructor(init: {
    config: NodeConfig;
    service: AssignmentService;
    store: AssignmentStore;
    wal: WriteAheadLog;
    viper: ViperEngine;
    lsm: LsmEngine;
    metadata: EngineBase;
    index: EngineBase | undefined;
    reports: Partial<Record<ComponentType, DiscoveryReport>>;
    initializedRoots: string[];
    logger: Logger;
    metrics: NodeMetrics | undefined;
    timings: Record<string, number>;
  }) {
    this.config = init.config;
    this.service = init.service;
    this.#store = init.store;
    this.wal = init.wal;
    this.viper = init.viper;
    this.lsm = init.lsm;
    this.metadata = init.metadata;
    this.index = init.index;
    this.reports = init.reports;
    this.initializedRoots = init.initializedRoots;
    this.#log = init.logger;
    this.#metrics = init.metrics;
    this.orphans = [];
    this.openTimings = init.timings;
  }

  /**
   * Opens the node: discovery of every component once, first-start initialisation of missing roots
   * (never of a root a sibling's marker vouches for), the engines, the collection definitions, and
   * recovery (each collection's WAL replayed into memory after its last checkpoint).
   */
  static async open(options: StorageNodeOptions): Promise<StorageNode> {
    const { config, logger } = options;
    const timings: Record<string, number> = {};
    let t = performance.now();
    const lap = (name: string) => {
      const now = performance.now();
      timings[name] = now - t;
      t = now;
    };
    const store = await openAssignmentStore(config, options.env);
    const service = createAssignmentService(config, store);
    let roots: OpenRoots | undefined;
    const opened: { close(): Promise<unknown> }[] = [];
    try {
      await service.load();
      roots = await openRoots(config, options.env);
      const discovered = await discoverComponents(roots, options.onDiscoveryEvent);
      options.onDiscovered?.(discovered);
      lap("discovery");
      const byUrl = roots.byUrl;
      const base = (component: ComponentType) => ({
        service,
        openFileSystem: (root: { url: string }) => byUrl.get(root.url) as FileSystem,
        nodeId: config.server.nodeId,
        report: discovered[component] as DiscoveryReport,
        // First start: absent roots nobody expects are created with their marker; a lost disk never is.
        createMissingRoots: true,
      });
      const wal = await WriteAheadLog.open({
        ...base("wal"),
        encoding: config.wal.format,
        sync: config.wal.sync,
        segmentBytes: config.wal.segmentBytes,
        onCorruption: (c) => logger.warn({ ...c }, "WAL tail corruption found"),
      });
      opened.push(wal);
      const viper = await ViperEngine.open(base("viper"));
      opened.push(viper);
      const lsm = await LsmEngine.open({
        ...base("lsm"),
        // The node decides when to flush (flush_threshold_bytes); the memtable limit is a safety net.
        memtableBytes: Math.max(4 << 20, config.engine.flushThresholdBytes * 2),
      });
      opened.push(lsm);
      const metadata = await EngineBase.open({ ...base("metadata"), component: "metadata" });
      opened.push(metadata);
      const index = config.components.index
        ? await EngineBase.open({ ...base("index"), component: "index" })
        : undefined;
      if (index) opened.push(index);
      lap("engines");
      // The engines' reports: discovery's, with the roots created at this open now online.
      const reports: Partial<Record<ComponentType, DiscoveryReport>> = {
        wal: wal.report,
        viper: viper.report,
        lsm: lsm.report,
        metadata: metadata.report,
        ...(index ? { index: index.report } : {}),
      };
      const initialized = Object.entries(reports).flatMap(([component, r]) =>
        r.roots
          .filter(
            (root) =>
              root.status === "online" &&
              discovered[component as ComponentType]?.roots[root.index]?.status !== "online",
          )
          .map((root) => root.url),
      );
      if (initialized.length > 0) logger.info({ roots: initialized }, "initialised new storage roots");
      for (const [component, r] of Object.entries(reports)) {
        options.metrics?.discoverySeconds.set({ component }, r.durationMs / 1000);
        for (const root of r.roots)
          if (root.status !== "online")
            logger.warn(
              { component, root: root.url, status: root.status, error: root.error },
              "storage root offline",
            );
        for (const c of r.conflicts)
          logger.warn(
            { component, collection: c.collection, chosen: c.chosen },
            "collection found in several roots",
          );
      }
      options.metrics?.watchAssignments(service);
      const node = new StorageNode({
        config,
        service,
        store,
        wal,
        viper,
        lsm,
        metadata,
        index,
        reports,
        initializedRoots: initialized,
        logger,
        metrics: options.metrics,
        timings,
      });
      await node.#loadDefinitions();
      lap("definitions");
      await node.#recover();
      lap("recovery");
      return node;
    } catch (err) {
      for (const o of opened.reverse()) await o.close().catch(() => undefined);
      await roots?.close();
      service.close();
      await store.close?.();
      throw err;
    }
  }

  /** Starts the background flush/compaction loop. */
  startBackground(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.config.engine.backgroundIntervalMs);
    this.#timer.unref();
  }

  // ---------------------------------------------------------------- collections

  /** Every collection definition, by id. */
  collections(): CollectionDefinition[] {
    return [...this.#states.values()].map((s) => s.definition).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** The API view of a collection. */
  view(definition: CollectionDefinition): CollectionView {
    const placements: Record<string, Placement> = {};
    for (const component of ["wal", definition.engine] as const) {
      const a = this.service.get(definition.id, component);
      const p = a
        ? { url: a.url, index: this.service.rootIndex(component, a.url) }
        : definition.placements[component];
      if (p) placements[component] = p;
    }
    return {
      id: definition.id,
      engine: definition.engine,
      dimension: definition.dimension,
      createdAt: definition.createdAt,
      placements,
    };
  }

  /**
   * Creates a collection: places its WAL and engine (and metadata), writes the definition with an
   * exclusive create, and (VIPER) an empty data file that carries the dimension.
   * @throws NodeError `invalid` (bad id, engine or dimension), `exists`
   */
  createCollection(input: { id: unknown; engine: unknown; dimension: unknown }): Promise<CollectionView> {
    const problem = collectionIdProblem(input.id);
    if (problem) return Promise.reject(new NodeError("invalid", `invalid collection id: ${problem}`));
    if (input.engine !== "viper" && input.engine !== "lsm")
      return Promise.reject(
        new NodeError("invalid", `engine must be "viper" or "lsm" (got ${JSON.stringify(input.engine)})`),
      );
    const dim = input.dimension;
    if (typeof dim !== "number" || !Number.isInteger(dim) || dim < 1 || dim > MAX_DIMENSION)
      return Promise.reject(
        new NodeError(
          "invalid",
          `dimension must be an integer in 1..${MAX_DIMENSION} (got ${JSON.stringify(dim)})`,
        ),
      );
    const id = input.id as CollectionId;
    if (this.#states.has(id) || this.#creating.has(id))
      return Promise.reject(new NodeError("exists", `collection ${id} already exists`));
    this.#assertOpen();
    const p = this.#create(id, input.engine, dim).finally(() => this.#creating.delete(id));
    this.#creating.set(id, p);
    return p;
  }

  async #create(id: CollectionId, engine: EngineKind, dimension: number): Promise<CollectionView> {
    // Data left by an interrupted drop (no definition) must not leak into the new collection.
    const orphan = this.orphans.findIndex((o) => o.collection === id);
    if (orphan >= 0) {
      await this.#dropData(id, engine);
      this.orphans.splice(orphan, 1);
    }
    const meta = await this.metadata.place(id);
    const wal = await this.wal.place(id);
    const data = await (engine === "viper" ? this.viper : this.lsm).place(id);
    const definition: CollectionDefinition = {
      format: 1,
      id,
      engine,
      dimension,
      createdAt: new Date().toISOString(),
      placements: {
        wal: { url: wal.url, index: wal.index },
        [engine]: { url: data.url, index: data.index },
      } as CollectionDefinition["placements"],
    };
    try {
      await meta.fs.write(`${meta.dir}${DEFINITION_FILE}`, `${JSON.stringify(definition, null, 2)}\n`, {
        exclusive: true,
        durable: true,
        contentType: "application/json",
      });
    } catch (err) {
      if (isFsError(err, "AlreadyExists")) throw new NodeError("exists", `collection ${id} already exists`);
      throw err;
    }
    if (engine === "viper") await this.viper.createCollection(id, { dimension });
    this.#states.set(id, new CollectionState(definition));
    this.#log.info(
      { collection: id, engine, dimension, placements: definition.placements },
      "collection created",
    );
    return this.view(definition);
  }

  /** The collection's definition. @throws NodeError `not-found` */
  definition(id: string): CollectionDefinition {
    return this.#state(id).definition;
  }

  /**
   * The definition of a collection this node serves, or (with a shared assignment store such as etcd)
   * of one another node created on shared roots: read from the collection's metadata root, which the
   * shared store names. Such a peer's collection is only described here, never served (one writer per
   * collection): its records stay `not-found` through this node.
   * @throws NodeError `not-found`
   */
  async findDefinition(id: string): Promise<CollectionDefinition> {
    const local = this.#states.get(id);
    if (local) return local.definition;
    const notFound = () => new NodeError("not-found", `collection ${JSON.stringify(String(id))} not found`);
    if (!this.#store.authoritative || collectionIdProblem(id) !== undefined) throw notFound();
    if (!this.metadata.locate(id)) {
      // The cache follows the store by a watch; a collection placed a moment ago may not be in it yet.
      const stored = await this.#store.get("metadata", id as CollectionId);
      if (stored) await this.service.record(stored);
    }
    const loc = this.metadata.locate(id);
    if (!loc) throw notFound();
    let text: string;
    try {
      text = decoder.decode(await loc.fs.read(`${loc.dir}${DEFINITION_FILE}`));
    } catch (err) {
      // Placed in the store but not (or no longer) defined: being created or dropped elsewhere.
      if (isFsError(err, "NotFound")) throw notFound();
      throw err;
    }
    const def = parseDefinition(text, `${loc.url}/${loc.dir}${DEFINITION_FILE}`);
    if (def.id !== id) throw notFound();
    return def;
  }

  /** Files and bytes per component of one collection (one listing of its directory per component). */
  async usage(collection: string | CollectionDefinition): Promise<Record<string, ComponentUsage>> {
    const def = typeof collection === "string" ? this.#state(collection).definition : collection;
    const out: Record<string, ComponentUsage> = {};
    const bases: [ComponentType, StorageEngine | undefined][] = [
      ["wal", this.wal],
      [def.engine, def.engine === "viper" ? this.viper : this.lsm],
      ["metadata", this.metadata],
      ["index", this.index],
    ];
    for (const [component, base] of bases) {
      const loc = base?.locate(def.id);
      if (!loc) continue;
      let files = 0;
      let bytes = 0;
      for (const f of (await listAll(loc.fs, loc.dir)).files) {
        if (!isDataFile(component, f.key)) continue;
        files++;
        bytes += f.size;
      }
      out[component] = { url: loc.url, index: loc.index, files, bytes };
    }
    return out;
  }

  /**
   * Drops a collection: stops writes, waits for in-flight work, deletes the definition first (the
   * commit point: after a crash the rest is reported as an orphan and cleaned when the id is re-created),
   * then the engine's data and the WAL.
   */
  async dropCollection(id: string): Promise<void> {
    const state = this.#state(id);
    state.dropped = true;
    this.#states.delete(id);
    await state.tail;
    await state.flushing?.catch(() => undefined);
    await state.compacting?.catch(() => undefined);
    const def = state.definition;
    await this.metadata.drop(def.id);
    await this.#dropData(def.id, def.engine);
    this.#log.info({ collection: def.id }, "collection dropped");
  }

  async #dropData(id: CollectionId, engine: EngineKind): Promise<void> {
    if (engine === "viper") await this.viper.drop(id);
    else await this.lsm.drop(id);
    // Either engine may hold leftovers of an earlier collection of this id.
    if (engine === "viper") await this.lsm.drop(id);
    else await this.viper.drop(id);
    await this.wal.drop(id);
  }

  // ---------------------------------------------------------------- records

  /**
   * Appends records; resolves once the WAL made them durable and memory reflects them.
   * @throws NodeError `invalid` (bad record, wrong dimension), `not-found`
   */
  async putRecords(id: string, records: unknown): Promise<number> {
    const state = this.#state(id);
    const def = state.definition;
    if (!Array.isArray(records)) throw new NodeError("invalid", "records must be an array");
    if (records.length === 0) return 0;
    const entries: WalEntry[] = new Array(records.length);
    for (let i = 0; i < records.length; i++) entries[i] = toEntry(records[i], i, def.dimension);
    await this.#append(state, entries);
    return entries.length;
  }

  /** Deletes a record (a tombstone in the WAL, then in memory). @throws NodeError `invalid`, `not-found` */
  async deleteRecord(id: string, recordId: string): Promise<void> {
    const state = this.#state(id);
    const problem = recordIdProblem(recordId);
    if (problem) throw new NodeError("invalid", `invalid record id: ${problem}`);
    await this.#append(state, [{ op: "delete", id: recordId }]);
  }

  /** Reads a record wherever it is (buffer, memtable or flushed files). @throws NodeError `not-found` */
  async getRecord(id: string, recordId: string): Promise<RecordOutput> {
    const state = this.#state(id);
    const def = state.definition;
    const missing = () =>
      new NodeError("not-found", `record ${JSON.stringify(recordId)} not found in ${def.id}`);
    if (recordIdProblem(recordId)) throw missing();
    if (def.engine === "viper") {
      const buffered = state.lookup(recordId);
      if (buffered) {
        if (buffered.deleted) throw missing();
        return {
          id: recordId,
          vector: Array.from(buffered.vector as Float32Array),
          metadata: buffered.metadata,
        };
      }
      const stored = await this.viper.get(def.id, recordId);
      if (!stored) throw missing();
      return { id: recordId, vector: Array.from(stored.vector), metadata: stored.metadata };
    }
    const value = await this.lsm.get(def.id, recordKey(recordId));
    if (!value) throw missing();
    const { vector, metadata } = decodeLsmValue(value);
    return { id: recordId, vector: Array.from(vector), metadata: metadata as Record<string, unknown> | null };
  }

  async #append(state: CollectionState, entries: WalEntry[]): Promise<void> {
    this.#assertOpen();
    await state.passGate();
    if (state.dropped) throw new NodeError("not-found", `collection ${state.definition.id} was dropped`);
    const threshold = this.config.engine.flushThresholdBytes;
    // Backpressure: when flushes fall far behind, writers wait for the one in progress.
    if (state.bufferedBytes > threshold * 4 && state.flushing) await state.flushing.catch(() => undefined);
    const id = state.definition.id;
    const t0 = performance.now();
    state.inflight++;
    const durable = this.wal.append(id, entries);
    const applied = state.tail.then(async () => {
      const { first } = await durable;
      this.#metrics?.walSyncSeconds.observe((performance.now() - t0) / 1000);
      await this.#apply(state, first, entries);
    });
    state.tail = applied.catch(() => undefined);
    try {
      await applied;
    } finally {
      state.inflight--;
    }
    this.#metrics?.recordsWritten.inc(entries.length);
    if (state.bufferedBytes >= threshold && !state.flushing) this.#backgroundFlush(state, "threshold");
  }

  /** Applies WAL-ordered records to memory (VIPER buffer or LSM memtable). */
  async #apply(state: CollectionState, first: number, entries: readonly WalEntry[]): Promise<void> {
    const def = state.definition;
    let bytes = 0;
    if (def.engine === "viper") {
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i] as WalEntry;
        const metadata = (e.metadata ?? null) as Record<string, unknown> | null;
        state.bufferPut(e.id, { seq: first + i, vector: e.vector, metadata, deleted: e.op === "delete" });
        bytes += recordBytes(e.id, e.vector, metadata ? 64 : 0);
      }
    } else {
      const ops = entries.map((e) => {
        bytes += recordBytes(e.id, e.vector, e.metadata ? 64 : 0);
        return e.op === "delete"
          ? ({ type: "delete", key: recordKey(e.id) } as const)
          : ({
              type: "put",
              key: recordKey(e.id),
              value: encodeLsmValue(e.vector as Float32Array, e.metadata),
            } as const);
      });
      await this.lsm.batch(def.id, ops);
    }
    state.bufferedBytes += bytes;
    state.bufferedRecords += entries.length;
    state.lastApplied = Math.max(state.lastApplied, first + entries.length - 1);
  }

  // ---------------------------------------------------------------- flush and compaction

  /**
   * Writes what memory holds into the engine (VIPER Parquet file or LSM SSTable), then records the WAL
   * checkpoint in the metadata component and deletes the WAL segments it covers.
   */
  flush(id: string, trigger = "api"): Promise<{ records: number; checkpoint: number }> {
    return this.#flush(this.#state(id), trigger);
  }

  async #flush(state: CollectionState, trigger: string): Promise<{ records: number; checkpoint: number }> {
    while (state.flushing) await state.flushing.catch(() => undefined);
    let result = { records: 0, checkpoint: 0 };
    const run = (async () => {
      let release!: () => void;
      state.gate = new Promise<void>((r) => {
        release = r;
      });
      let upTo: number;
      let records: number;
      try {
        await state.tail;
        upTo = state.lastApplied;
        records = state.bufferedRecords;
        state.bufferedBytes = 0;
        state.bufferedRecords = 0;
        if (state.definition.engine === "viper") {
          state.frozen = state.buffer;
          state.buffer = new Map();
        }
      } finally {
        state.gate = undefined;
        release();
      }
      const def = state.definition;
      try {
        if (def.engine === "viper") {
          const frozen = state.frozen as Map<string, unknown>;
          if (frozen.size > 0)
            await this.viper.flush(def.id, CollectionState.toVectorRecords(state.frozen as never));
          state.frozen = undefined;
        } else {
          await this.lsm.flush(def.id);
        }
      } catch (err) {
        state.unfreeze();
        state.bufferedRecords += records;
        throw err;
      }
      if (upTo > state.checkpointed) {
        const meta = await this.metadata.place(def.id);
        await meta.fs.write(`${meta.dir}${CHECKPOINT_FILE}`, JSON.stringify({ walSequence: upTo }), {
          durable: true,
          contentType: "application/json",
        });
        state.checkpointed = upTo;
        await this.wal.checkpoint(def.id, upTo);
      }
      this.#metrics?.flushes.inc({ engine: def.engine, trigger });
      result = { records, checkpoint: upTo };
    })();
    state.flushing = run;
    try {
      await run;
    } finally {
      if (state.flushing === run) state.flushing = undefined;
    }
    return result;
  }

  /** Compacts the collection's engine files (VIPER: merge live files; LSM: merge every SSTable). */
  compact(id: string, trigger = "api"): Promise<{ files: number }> {
    return this.#compact(this.#state(id), trigger);
  }

  async #compact(state: CollectionState, trigger: string): Promise<{ files: number }> {
    while (state.compacting) await state.compacting.catch(() => undefined);
    const def = state.definition;
    const run = (async () => {
      if (def.engine === "viper") await this.viper.compact(def.id);
      else await this.lsm.compact(def.id);
      this.#metrics?.compactions.inc({ engine: def.engine, trigger });
    })();
    state.compacting = run;
    try {
      await run;
    } finally {
      if (state.compacting === run) state.compacting = undefined;
    }
    return { files: await this.#engineFiles(def) };
  }

  async #engineFiles(def: CollectionDefinition): Promise<number> {
    if (def.engine === "viper") return (await this.viper.files(def.id))?.live.length ?? 0;
    const stats = await this.lsm.stats(def.id);
    return stats ? stats.levels.reduce((n, l) => n + l.length, 0) : 0;
  }

  #backgroundFlush(state: CollectionState, trigger: string): void {
    if (this.#closing || state.dropped) return;
    // One background job at a time keeps memory and disk bandwidth bounded on small machines.
    this.#background = this.#background.then(async () => {
      if (this.#closing || state.dropped || state.bufferedBytes < this.config.engine.flushThresholdBytes)
        return;
      try {
        await this.#flush(state, trigger);
        if ((await this.#engineFiles(state.definition)) >= this.config.engine.compactFileCount)
          await this.#compact(state, "file-count");
      } catch (err) {
        this.#metrics?.failures.inc({ operation: "flush" });
        this.#log.error({ collection: state.definition.id, err: describe(err) }, "background flush failed");
      }
    });
  }

  #tick(): void {
    for (const state of this.#states.values())
      if (state.bufferedBytes >= this.config.engine.flushThresholdBytes && !state.flushing)
        this.#backgroundFlush(state, "interval");
  }

  // ---------------------------------------------------------------- stats and shutdown

  /** Per component: strategy, skew and per-root figures (collections from the service, data from discovery). */
  stats(): Record<string, unknown> {
    const components: Record<string, unknown> = {};
    for (const c of this.service.stats()) {
      const report = this.reports[c.component];
      components[c.component] = {
        strategy: c.strategy,
        total: c.total,
        skew: c.skew,
        roots: c.roots.map((r) => {
          const found = report?.roots.find((x) => x.url === r.url);
          return {
            url: r.url,
            index: r.index,
            state: r.state,
            status: found?.status,
            collections: r.collections,
            filesAtStart: found?.files ?? 0,
            bytesAtStart: found?.bytes ?? 0,
          };
        }),
      };
    }
    let buffered = 0;
    for (const s of this.#states.values()) buffered += s.bufferedBytes;
    return {
      collections: this.#states.size,
      bufferedBytes: buffered,
      orphans: this.orphans,
      components,
    };
  }

  /** Stops background work, waits for in-flight appends, syncs the WAL and closes everything. Unflushed
   * records stay in the WAL (replayed at the next open). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#timer) clearInterval(this.#timer);
    await Promise.allSettled([...this.#states.values()].map((s) => s.tail));
    await this.#background.catch(() => undefined);
    await Promise.allSettled([...this.#states.values()].flatMap((s) => [s.flushing, s.compacting]));
    await this.wal.sync();
    await this.wal.close();
    await this.lsm.close({ flush: false });
    await this.viper.close();
    await this.metadata.close();
    await this.index?.close();
    this.service.close();
    await this.#store.close?.();
  }

  // ---------------------------------------------------------------- recovery

  /** Reads every definition the metadata listing shows and pins its placements. */
  async #loadDefinitions(): Promise<void> {
    const limit = pLimit(32);
    const ids = this.metadata.collections();
    const defs = await Promise.all(
      ids.map((id) =>
        limit(async () => {
          const loc = this.metadata.locate(id);
          if (!loc) return undefined;
          try {
            const text = decoder.decode(await loc.fs.read(`${loc.dir}${DEFINITION_FILE}`));
            return parseDefinition(text, `${loc.url}/${loc.dir}${DEFINITION_FILE}`);
          } catch (err) {
            this.orphans.push({ collection: id, components: ["metadata"], reason: describe(err) });
            return undefined;
          }
        }),
      ),
    );
    for (const def of defs) {
      if (!def) continue;
      for (const component of ["wal", def.engine] as const) {
        const want = def.placements[component];
        if (!want) continue;
        const found = this.service.get(def.id, component);
        if (found) {
          if (found.url !== want.url)
            this.#log.warn(
              { collection: def.id, component, found: found.url, defined: want.url },
              "collection found in another root than its definition says; the listing wins",
            );
          continue;
        }
        try {
          await this.service.record({
            collection: def.id,
            component,
            url: want.url,
            assignedAt: Date.parse(def.createdAt),
          });
        } catch (err) {
          if (!(err instanceof StoreConflictError || err instanceof UnknownRootError)) throw err;
          this.#log.warn(
            { collection: def.id, component, err: describe(err) },
            "cannot keep the defined placement",
          );
        }
      }
      this.#states.set(def.id, new CollectionState(def));
    }
    // Data without a definition (an interrupted drop, or a definition in an offline root).
    const undefinedData = new Map<string, ComponentType[]>();
    for (const [component, base] of [
      ["wal", this.wal],
      ["viper", this.viper],
      ["lsm", this.lsm],
    ] as const) {
      for (const id of base.collections()) {
        if (this.#states.has(id)) continue;
        const list = undefinedData.get(id) ?? [];
        list.push(component);
        undefinedData.set(id, list);
      }
    }
    for (const [collection, components] of undefinedData) {
      this.orphans.push({ collection, components, reason: "data without a collection definition" });
      this.#log.warn({ collection, components }, "data without a collection definition (not served)");
    }
  }

  /** Replays each collection's WAL after its checkpoint into memory. */
  async #recover(): Promise<void> {
    const limit = pLimit(REPLAY_CONCURRENCY);
    let replayed = 0;
    await Promise.all(
      [...this.#states.values()].map((state) =>
        limit(async () => {
          const def = state.definition;
          if (!this.wal.locate(def.id)) return;
          const after = await this.#checkpointOf(def.id);
          state.lastApplied = after;
          state.checkpointed = after;
          let batch: WalEntry[] = [];
          let first = 0;
          const applyBatch = async () => {
            if (batch.length === 0) return;
            await this.#apply(state, first, batch);
            batch = [];
          };
          for await (const r of this.wal.replay(def.id, { after })) {
            if (batch.length === 0 || r.sequence !== first + batch.length) {
              await applyBatch();
              first = r.sequence;
            }
            batch.push(
              r.op === "delete"
                ? { op: "delete", id: r.id }
                : {
                    op: "put",
                    id: r.id,
                    ...(r.vector ? { vector: r.vector } : {}),
                    ...(r.metadata === undefined ? {} : { metadata: r.metadata }),
                  },
            );
            if (batch.length >= 1000) await applyBatch();
            replayed++;
          }
          await applyBatch();
        }),
      ),
    );
    this.#log.info({ collections: this.#states.size, replayed }, "recovery finished");
  }

  async #checkpointOf(id: CollectionId): Promise<number> {
    const loc = this.metadata.locate(id);
    if (!loc) return 0;
    try {
      const v = JSON.parse(decoder.decode(await loc.fs.read(`${loc.dir}${CHECKPOINT_FILE}`))) as {
        walSequence?: unknown;
      };
      return Number.isSafeInteger(v.walSequence) ? (v.walSequence as number) : 0;
    } catch (err) {
      if (!isFsError(err, "NotFound"))
        this.#log.warn({ collection: id, err: describe(err) }, "unreadable WAL checkpoint; replaying all");
      return 0;
    }
  }

  #state(id: string): CollectionState {
    const s = typeof id === "string" ? this.#states.get(id) : undefined;
    if (!s) throw new NodeError("not-found", `collection ${JSON.stringify(String(id))} not found`);
    return s;
  }

  #assertOpen(): void {
    if (this.#closing) throw new NodeError("unavailable", "the node is shutting down");
  }
}

/** Validates one API record and turns it into a WAL entry. */
function toEntry(raw: unknown, index: number, dimension: number): WalEntry {
  const bad = (why: string) => new NodeError("invalid", `records[${index}]: ${why}`);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("must be an object");
  const r = raw as Record<string, unknown>;
  const problem = recordIdProblem(r.id);
  if (problem) throw bad(`id ${problem}`);
  const v = r.vector;
  if (!Array.isArray(v)) throw bad("vector must be an array of numbers");
  if (v.length !== dimension)
    throw bad(`vector has ${v.length} values; the collection's dimension is ${dimension}`);
  const vector = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) throw bad(`vector[${i}] is not a finite number`);
    vector[i] = x;
  }
  const m = r.metadata;
  if (m !== undefined && m !== null && (typeof m !== "object" || Array.isArray(m)))
    throw bad("metadata must be a JSON object");
  for (const k of Object.keys(r))
    if (k !== "id" && k !== "vector" && k !== "metadata") throw bad(`unknown field ${JSON.stringify(k)}`);
  return {
    op: "put",
    id: r.id as string,
    vector,
    ...(m === undefined || m === null ? {} : { metadata: m as never }),
  };
}

/** A secret-free one-line description of an error for logs. */
export function describe(err: unknown): string {
  if (err instanceof ProximaError) return `${err.name}: ${err.message}`;
  if (err instanceof Error) return err.name;
  return "unknown error";
}

/** UTF-8 bytes of a string (exported for tests). */
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
