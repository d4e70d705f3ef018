import type { AssignmentService, AssignmentStore, ComponentType, FileSystem } from "@proximadb/core";
import type { DiscoveryEvent, DiscoveryReport } from "@proximadb/discovery";
import { EngineBase, type EngineOpenOptions } from "@proximadb/engine";
import { WriteAheadLog } from "@proximadb/wal";
import type { Logger } from "pino";
import type { NodeConfig } from "../config.js";
import type { NodeMetrics } from "../metrics.js";
import {
  type OpenRoots,
  createAssignmentService,
  discoverComponents,
  openAssignmentStore,
  openRoots,
  reportRoots,
} from "../startup.js";
import type { ComponentStore } from "./component-store.js";
import { EngineRegistry } from "./registry.js";

/** The node's open engines: the WAL and every other component, in one registry. */
export interface NodeEngines {
  readonly wal: WriteAheadLog;
  readonly registry: EngineRegistry;
  /** Syncs and closes the WAL, then every other engine. */
  close(): Promise<void>;
}

/**
 * Opens every engine over the roots discovery listed: the WAL, the record engines, metadata and (when
 * configured) index. First start: absent roots nobody expects are created with their marker; a lost disk
 * never is. What opened is closed again when a later engine fails to open.
 */
export async function openEngines(o: {
  config: NodeConfig;
  service: AssignmentService;
  roots: OpenRoots;
  discovered: Partial<Record<ComponentType, DiscoveryReport>>;
  logger: Logger;
}): Promise<NodeEngines> {
  const { config, service, roots, discovered, logger } = o;
  const options = (component: ComponentType): EngineOpenOptions => ({
    service,
    openFileSystem: (root: { url: string }) => roots.byUrl.get(root.url) as FileSystem,
    nodeId: config.server.nodeId,
    staleStagingMs: config.engine.staleStagingMs,
    report: discovered[component] as DiscoveryReport,
    createMissingRoots: true,
  });
  const opened: { close(): Promise<unknown> }[] = [];
  const base = async (component: ComponentType) => {
    const b = await EngineBase.open({ ...options(component), component });
    opened.push(b);
    return b;
  };
  try {
    const wal = await WriteAheadLog.open({
      ...options("wal"),
      encoding: config.wal.format,
      sync: config.wal.sync,
      segmentBytes: config.wal.segmentBytes,
      onCorruption: (c) => logger.warn({ ...c }, "WAL tail corruption found"),
    });
    opened.push(wal);
    const records = await EngineRegistry.openRecordEngines((kind) => ({ ...options(kind), config }));
    opened.push(...records);
    const others: ComponentStore[] = [wal, await base("metadata")];
    if (config.components.index) others.push(await base("index"));
    const registry = new EngineRegistry(records, others);
    return {
      wal,
      registry,
      close: async () => {
        await wal.sync();
        await wal.close();
        for (const c of [...records, ...others.slice(1)]) await c.close();
      },
    };
  } catch (err) {
    for (const c of opened.reverse()) await c.close().catch(() => undefined);
    throw err;
  }
}

/** Options of `StorageNode.open`. */
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

/** Everything the node runs on: the assignment store and service, and the open engines. */
export interface OpenedStorage extends NodeEngines {
  readonly store: AssignmentStore;
  readonly service: AssignmentService;
  /** Roots created (marker written) at this open. */
  readonly initializedRoots: string[];
}

/**
 * The start-up sequence up to recovery: the assignment store and service, every root's file system,
 * discovery of every component once, then the engines (first-start initialisation of missing roots, never
 * of a root a sibling's marker vouches for). `lap` is told when discovery and the engines are done.
 */
export async function openStorage(
  o: StorageNodeOptions,
  lap: (phase: string) => void,
): Promise<OpenedStorage> {
  const { config, logger } = o;
  const store = await openAssignmentStore(config, o.env);
  const service = createAssignmentService(config, store);
  let roots: OpenRoots | undefined;
  try {
    await service.load();
    roots = await openRoots(config, o.env);
    const discovered = await discoverComponents(roots, o.onDiscoveryEvent);
    o.onDiscovered?.(discovered);
    lap("discovery");
    const engines = await openEngines({ config, service, roots, discovered, logger });
    lap("engines");
    const initializedRoots = reportRoots(engines.registry.reports(), discovered, logger, o.metrics);
    o.metrics?.watchAssignments(service);
    return {
      ...engines,
      store,
      service,
      initializedRoots,
      close: async () => {
        await engines.close();
        service.close();
        await store.close?.();
      },
    };
  } catch (err) {
    await roots?.close();
    service.close();
    await store.close?.();
    throw err;
  }
}
