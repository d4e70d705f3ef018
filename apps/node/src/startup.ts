import {
  type AssignmentStore,
  AssignmentService,
  COMPONENT_TYPES,
  type ComponentType,
  type FileSystem,
  InMemoryAssignmentStore,
} from "@proximadb/core";
import {
  type DiscoveryDetail,
  type DiscoveryEvent,
  type DiscoveryReport,
  discoverAll,
} from "@proximadb/discovery";
import type { Logger } from "pino";
import type { NodeConfig } from "./config.js";
import type { NodeMetrics } from "./metrics.js";
import { fileSystemOpener } from "./storage.js";

/** The assignment store the configuration asks for. etcd credentials come from `ETCD_USERNAME` / `ETCD_PASSWORD`. */
export async function openAssignmentStore(
  config: NodeConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<AssignmentStore> {
  const s = config.assignmentStore;
  if (s.type === "memory") return new InMemoryAssignmentStore();
  const { EtcdAssignmentStore } = await import("@proximadb/store-etcd");
  return new EtcdAssignmentStore({
    hosts: s.endpoints,
    cluster: s.cluster,
    prefix: s.prefix,
    ...(env.ETCD_USERNAME && env.ETCD_PASSWORD
      ? { auth: { username: env.ETCD_USERNAME, password: env.ETCD_PASSWORD } }
      : {}),
  });
}

/** An assignment service over every configured component. */
export function createAssignmentService(config: NodeConfig, store: AssignmentStore): AssignmentService {
  const components: Partial<
    Record<
      ComponentType,
      {
        roots: { url: string; weight: number; state: "active" | "cordoned" }[];
        strategy: string;
        collectionAffinity: boolean;
        boundedLoad?: number;
      }
    >
  > = {};
  for (const [name, c] of Object.entries(config.components)) {
    if (!c) continue;
    components[name as ComponentType] = {
      roots: c.roots.map((r, i) => ({
        url: r.url,
        weight: c.rootOptions[i]?.weight ?? 1,
        state: c.rootOptions[i]?.state ?? "active",
      })),
      strategy: c.strategy,
      collectionAffinity: c.collectionAffinity,
      ...(c.boundedLoad === undefined ? {} : { boundedLoad: c.boundedLoad }),
    };
  }
  return new AssignmentService({ components: components as never, store });
}

/** One file system per configured root, by component, in configured order. */
export interface OpenRoots {
  readonly byComponent: ReadonlyMap<ComponentType, readonly FileSystem[]>;
  readonly byUrl: ReadonlyMap<string, FileSystem>;
  close(): Promise<void>;
}

/** Opens every root's file system. Nothing touches storage yet. */
export async function openRoots(
  config: NodeConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenRoots> {
  const open = await fileSystemOpener(config, env);
  const byComponent = new Map<ComponentType, FileSystem[]>();
  const byUrl = new Map<string, FileSystem>();
  for (const component of COMPONENT_TYPES) {
    const c = config.components[component];
    if (!c) continue;
    const list = c.roots.map((r) => open(r));
    byComponent.set(component, list);
    for (const fs of list) byUrl.set(fs.root.url, fs);
  }
  return {
    byComponent,
    byUrl,
    close: async () => {
      await Promise.allSettled([...byUrl.values()].map((fs) => fs.close()));
    },
  };
}

/**
 * Discovery of every configured component, once, sharing one bound on roots listed at once. Read-only.
 * `detail` (default `sizes`) is the level, or the level per component: `names` where sizes and times
 * decide nothing (see `discoveryDetailFor` of `@proximadb/engine`), `sizes` where bytes are shown.
 */
export function discoverComponents<D extends DiscoveryDetail = "sizes">(
  roots: OpenRoots,
  onEvent?: (e: DiscoveryEvent) => void,
  detail?: D | ((component: ComponentType) => D),
): Promise<Partial<Record<ComponentType, DiscoveryReport<D>>>> {
  return discoverAll(
    [...roots.byComponent].map(([component, list]) => ({
      component,
      roots: list,
      ...(detail === undefined ? {} : { detail: typeof detail === "function" ? detail(component) : detail }),
    })),
    { concurrency: 8, ...(onEvent ? { onEvent } : {}) },
  );
}

/** Logs what the engines' reports say after open (offline roots, conflicts) and records discovery durations. */
export function reportRoots(
  reports: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>,
  logger: Logger,
  metrics: NodeMetrics | undefined,
): void {
  for (const [component, r] of Object.entries(reports)) {
    metrics?.discoverySeconds.set({ component }, r.durationMs / 1000);
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
}
