import { COMPONENT_TYPES, type ComponentType } from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryReport } from "@proximadb/discovery";
import { type CollectionDefinition, ENGINE_KINDS, type EngineKind } from "../collection.js";
import type { ComponentStore } from "./component-store.js";
import { openLsmRecords } from "./lsm.js";
import type { RecordEngine, RecordEngineOptions } from "./types.js";
import { openViperRecords } from "./viper.js";

export type { FrozenRecords, RecordEngine, RecordEngineOptions, ScannedRecord } from "./types.js";

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
  reports(): Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>> {
    const out: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>> = {};
    for (const component of COMPONENT_TYPES) {
      const store = this.#stores.get(component);
      if (store) out[component] = store.report;
    }
    return out;
  }
}
