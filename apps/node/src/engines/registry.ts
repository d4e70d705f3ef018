import { COMPONENT_TYPES, type CollectionId, type ComponentType } from "@proximadb/core";
import type { DiscoveryReport } from "@proximadb/discovery";
import type { EngineOpenOptions } from "@proximadb/engine";
import type { WalEntry } from "@proximadb/wal";
import {
  type CollectionDefinition,
  ENGINE_KINDS,
  type EngineKind,
  type RecordOutput,
} from "../collection.js";
import type { NodeConfig } from "../config.js";
import type { ComponentStore } from "./component-store.js";
import { openLsmRecords } from "./lsm.js";
import { openViperRecords } from "./viper.js";

/** What a flush takes out of an engine's memory, taken while appends wait at the collection's gate. */
export interface FrozenRecords {
  /** Writes the taken records into the engine's files (a Parquet file, an SSTable). */
  write(): Promise<void>;
  /** After a failed write: puts the taken records back under any newer ones. */
  restore(): void;
}

/**
 * One storage engine as the node drives it, per collection: records in (puts and deletes in WAL order),
 * reads, flush of what memory holds, compaction, file counts, drop. Each {@link EngineKind} has one
 * implementation, registered in {@link EngineRegistry}; nothing outside the registry branches on the kind.
 */
export interface RecordEngine {
  readonly kind: EngineKind;
  /** The engine's component: where each collection's files live. */
  readonly store: ComponentStore;
  /** Prepares a placed collection whose definition was just written (VIPER: a file carrying the dimension). */
  create(id: CollectionId, dimension: number): Promise<void>;
  /** Applies WAL-ordered puts and deletes (WAL sequences `first`, `first + 1`, …) to the engine's memory. */
  apply(id: CollectionId, first: number, entries: readonly WalEntry[]): Promise<void>;
  /** The newest version of a record (memory first, then files), or undefined when absent or deleted. */
  get(id: CollectionId, recordId: string): Promise<RecordOutput | undefined>;
  /**
   * Every live record in the engine's files (LSM: its memtable too; VIPER's buffer is not included), for
   * an index rebuild and exact search. Newer versions may still be in memory.
   */
  scan(id: CollectionId): AsyncIterable<ScannedRecord>;
  /** Takes what memory holds for a flush. Called with appends held, so it is exactly what was applied. */
  freeze(id: CollectionId): FrozenRecords;
  /** Merges the collection's files. */
  compact(id: CollectionId): Promise<void>;
  /** How many live data files the collection has (the compaction trigger counts them). */
  files(id: CollectionId): Promise<number>;
  /** Deletes the collection's files and memory and forgets its placement. */
  drop(id: CollectionId): Promise<void>;
  /** Closes the engine without flushing (the WAL holds what memory held). */
  close(): Promise<void>;
  /**
   * Told of a failure of the engine's own background work (LSM: a memtable flush or compaction it
   * started itself), found after the fact; set by the node, which marks the collection degraded. Such a
   * failure never fails the {@link apply} that finds it.
   */
  onBackgroundFailure: ((id: CollectionId, err: unknown) => void) | undefined;
}

/** A record as {@link RecordEngine.scan} yields it. */
export interface ScannedRecord {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Record<string, unknown> | null;
}

/** Options every record engine opens with (engine-base options plus the node's configuration). */
export interface RecordEngineOptions extends EngineOpenOptions {
  readonly config: NodeConfig;
}

/** How each engine kind opens: the one table to extend for a new record engine. */
const OPENERS: { readonly [K in EngineKind]: (options: RecordEngineOptions) => Promise<RecordEngine> } = {
  viper: openViperRecords,
  lsm: openLsmRecords,
};

/**
 * Every open engine of the node, by kind and by component: the record engines (VIPER, LSM) and the
 * placement of the other components (WAL, metadata, index). An index engine joins as one more component
 * (and a search path beside {@link RecordEngine}) without touching the callers.
 */
export class EngineRegistry {
  readonly #records: ReadonlyMap<EngineKind, RecordEngine>;
  readonly #stores: ReadonlyMap<ComponentType, ComponentStore>;

  constructor(records: readonly RecordEngine[], others: readonly ComponentStore[]) {
    this.#records = new Map(records.map((e) => [e.kind, e]));
    this.#stores = new Map([...others, ...records.map((e) => e.store)].map((s) => [s.component, s]));
  }

  /**
   * Opens every record engine. `options(component)` gives the engine-base options of a component; what
   * opened is closed again when a later one fails.
   */
  static async openRecordEngines(
    options: (component: EngineKind) => RecordEngineOptions,
  ): Promise<RecordEngine[]> {
    const opened: RecordEngine[] = [];
    try {
      for (const kind of ENGINE_KINDS) opened.push(await OPENERS[kind](options(kind)));
      return opened;
    } catch (err) {
      for (const e of opened.reverse()) await e.close().catch(() => undefined);
      throw err;
    }
  }

  /** The record engine of a kind. */
  record(kind: EngineKind): RecordEngine {
    const engine = this.#records.get(kind);
    if (!engine) throw new Error(`no ${kind} engine registered`);
    return engine;
  }

  /** Every record engine. */
  records(): RecordEngine[] {
    return [...this.#records.values()];
  }

  /** True when the component is configured (index is optional). */
  has(component: ComponentType): boolean {
    return this.#stores.has(component);
  }

  /** The placement of one configured component. */
  store(component: ComponentType): ComponentStore {
    const store = this.#stores.get(component);
    if (!store) throw new Error(`component ${component} is not configured`);
    return store;
  }

  /** The components that can hold a collection's files: its WAL, its engine, metadata and index. */
  storesOf(definition: CollectionDefinition): ComponentStore[] {
    const components: ComponentType[] = ["wal", definition.engine, "metadata", "index"];
    return components.flatMap((c) => this.#stores.get(c) ?? []);
  }

  /** The components data is recognised by (WAL and record engines): what recovery checks for orphans. */
  dataStores(): ComponentStore[] {
    return (["wal", ...ENGINE_KINDS] as ComponentType[]).flatMap((c) => this.#stores.get(c) ?? []);
  }

  /** Every component's discovery report, as its engine holds it. */
  reports(): Partial<Record<ComponentType, DiscoveryReport>> {
    const out: Partial<Record<ComponentType, DiscoveryReport>> = {};
    for (const component of COMPONENT_TYPES) {
      const store = this.#stores.get(component);
      if (store) out[component] = store.report;
    }
    return out;
  }
}
