import type { AssignmentService, AssignmentStore, ComponentType, FileSystem } from "@proximadb/core";
import {
  type DiscoveryDetail,
  type DiscoveryEvent,
  type DiscoveryReport,
  assessRoots,
} from "@proximadb/discovery";
import { EngineBase, type EngineOpenOptions, type RootAccess, discoveryDetailFor } from "@proximadb/engine";
import { WriteAheadLog } from "@proximadb/wal";
import type { Logger } from "pino";
import type { NodeConfig } from "../config.js";
import {
  type NodeDeployment,
  RootHealth,
  applyToReports,
  assessedEvents,
  configuredRoots,
  prepareNodeDeployment,
} from "../deployment.js";
import type { NodeMetrics } from "../metrics.js";
import {
  type OpenRoots,
  createAssignmentService,
  discoverComponents,
  openAssignmentStore,
  openRoots,
  reportRoots,
} from "../startup.js";
import { CollectionCatalog } from "../catalog.js";
import { applyCordonsAtStart } from "../moves/cordon.js";
import { finishMovesAtStart } from "../moves/startup.js";
import type { ComponentStore } from "./component-store.js";
import { NodeSearch, openIndexEngine } from "./index-component.js";
import { EngineRegistry } from "./registry.js";

/** The node's open engines: the WAL and every other component, in one registry. */
export interface NodeEngines {
  readonly wal: WriteAheadLog;
  readonly registry: EngineRegistry;
  /** Search and the index upkeep around the record engines. */
  readonly search: NodeSearch;
  /** Syncs and closes the WAL, then every other engine. */
  close(): Promise<void>;
}

/**
 * Opens every engine over the roots discovery listed (with the deployment's statuses folded in): the WAL,
 * the record engines, metadata and (when configured) index. No engine creates a root or writes a marker:
 * the deployment layer did that, and `rootAccess` keeps every write off a root that is not online. What
 * opened is closed again when a later engine fails to open.
 */
export async function openEngines(o: {
  config: NodeConfig;
  service: AssignmentService;
  roots: OpenRoots;
  discovered: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>;
  logger: Logger;
  rootAccess: RootAccess;
}): Promise<NodeEngines> {
  const { config, service, roots, discovered, logger, rootAccess } = o;
  const options = (component: ComponentType): EngineOpenOptions => ({
    service,
    openFileSystem: (root: { url: string }) => roots.byUrl.get(root.url) as FileSystem,
    nodeId: config.server.nodeId,
    staleStagingMs: config.engine.staleStagingMs,
    report: discovered[component] as DiscoveryReport<DiscoveryDetail>,
    rootAccess,
    // Several nodes: an engine modifies only the collections this node fenced (owns); see cluster/.
    requireFence: config.assignmentStore.type === "etcd",
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
    const metadata = await base("metadata");
    const others: ComponentStore[] = [wal, metadata];
    const index = config.components.index ? await openIndexEngine(options("index"), config) : undefined;
    if (index) opened.push(index);
    if (index) others.push(index);
    const search = new NodeSearch({ index, catalog: new CollectionCatalog(metadata), logger });
    const registry = new EngineRegistry(
      records.map((r) => search.wrap(r)),
      others,
    );
    return {
      wal,
      registry,
      search,
      close: async () => {
        await search.close();
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
  /** Discovery finished (after the deployment was prepared, before the engines open). */
  readonly onDiscovered?: (reports: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** Everything the node runs on: the assignment store and service, and the open engines. */
export interface OpenedStorage extends NodeEngines {
  readonly store: AssignmentStore;
  readonly service: AssignmentService;
  /** Roots created (marker written) at this open. */
  readonly initializedRoots: string[];
  /** The deployment as found (and prepared) at this open. */
  readonly deployment: NodeDeployment;
  /** Which roots may be written now (kept current by its re-probe). */
  readonly health: RootHealth;
}

/**
 * The start-up sequence up to recovery: the assignment store and service, every root's file system, the
 * deployment (markers read and assessed; a first start initialises, new empty roots join; `serve` refuses
 * with a `DeploymentError` when a known root is not configured), discovery of every component once with
 * the deployment's statuses folded in (offline roots hold nothing; names only, unless a component's
 * strategy may compare bytes), then the engines. `lap` is told when
 * discovery and the engines are done.
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
    await finishMovesAtStart(roots, store, logger);
    const open = roots;
    const deployment = await prepareNodeDeployment(open, config, {
      logger,
      ...(o.env ? { env: o.env } : {}),
    });
    const { assessment } = deployment;
    const events = assessedEvents(assessment, o.onDiscoveryEvent);
    // Names only where sizes and times decide nothing (conflicts are sized at every level).
    const detail = (c: ComponentType) => discoveryDetailFor(service, c);
    const discovered = applyToReports(await discoverComponents(open, events, detail), assessment);
    o.onDiscovered?.(discovered);
    lap("discovery");
    const expected = assessment.deployment === undefined ? {} : { expectedDeployment: assessment.deployment };
    const health = new RootHealth(assessment, {
      service,
      logger,
      probe: () => assessRoots(configuredRoots(open), expected),
    });
    const engines = await openEngines({ config, service, roots, discovered, logger, rootAccess: health });
    lap("engines");
    await applyCordonsAtStart(roots, service, logger);
    reportRoots(engines.registry.reports(), logger, o.metrics);
    o.metrics?.watchAssignments(service);
    return {
      ...engines,
      store,
      service,
      initializedRoots: deployment.initialized,
      deployment,
      health,
      close: async () => {
        await health.stop();
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
