import {
  type ComponentType,
  type RebalanceComponentInput,
  type RebalanceRootInput,
  measureCapacity,
} from "@proximadb/core";
import type { DiscoveryReport } from "@proximadb/discovery";
import { measureLocal } from "./capacity.js";
import type { NodeConfig } from "./config.js";

/** A root the planner cannot see into: its contents are unknown, never taken as empty. */
export interface UnseenRoot {
  readonly component: ComponentType;
  readonly url: string;
  readonly status: string;
  readonly detail?: string;
}

/**
 * The planner's input from discovery reports (what `discover` / `stats` read) and the configuration:
 * each root's weight and state (`cordoned` from the config or, for a drained root, `cordoned`; `offline` unless discovery listed it or it is
 * a new empty root about to join; `full` when its space, measured like the serving node does, is at or
 * over its `full_ratio`), and every collection's live copy with its bytes.
 */
export async function rebalanceInputFrom(
  config: NodeConfig,
  reports: Partial<Record<ComponentType, DiscoveryReport>>,
  cordoned: ReadonlySet<string> = new Set(),
): Promise<{ components: RebalanceComponentInput[]; unseen: UnseenRoot[] }> {
  const components: RebalanceComponentInput[] = [];
  const unseen: UnseenRoot[] = [];
  for (const [name, report] of Object.entries(reports)) {
    const component = name as ComponentType;
    const c = config.components[component];
    if (!c) continue;
    const roots: RebalanceRootInput[] = [];
    for (const [i, root] of c.roots.entries()) {
      const options = c.rootOptions[i];
      const found = report.roots.find((r) => r.url === root.url);
      const seen = found?.status === "online" || found?.status === "new";
      if (!seen) {
        unseen.push({
          component,
          url: root.url,
          status: found?.status ?? "unknown",
          ...(found?.error ? { detail: found.error } : {}),
        });
        roots.push({ url: root.url, weight: options?.weight ?? 1, state: "offline" });
        continue;
      }
      const ratios = {
        nearfullRatio: options?.nearfullRatio ?? config.placement.nearfullRatio,
        fullRatio: options?.fullRatio ?? config.placement.fullRatio,
      };
      let capacityBytes = options?.capacityBytes;
      let usedBytes: number | undefined;
      if (capacityBytes !== undefined) usedBytes = found?.bytes ?? 0;
      else if (root.scheme === "file" && root.path) {
        const m = await measureLocal(root.path).catch(() => undefined);
        if (m) ({ usedBytes, totalBytes: capacityBytes } = m);
      }
      const full =
        capacityBytes !== undefined &&
        usedBytes !== undefined &&
        measureCapacity(usedBytes, capacityBytes, "quota", ratios).state === "full";
      roots.push({
        url: root.url,
        weight: options?.weight ?? 1,
        state:
          options?.state === "cordoned" || cordoned.has(root.url) ? "cordoned" : full ? "full" : "active",
        ...(capacityBytes === undefined ? {} : { capacityBytes }),
        ...(usedBytes === undefined ? {} : { usedBytes }),
      });
    }
    const known = new Set(roots.map((r) => r.url));
    const collections = Object.entries(report.collections)
      .filter(([, col]) => known.has(col.url))
      .map(([collection, col]) => ({ collection, url: col.url, bytes: col.bytes }))
      .sort((a, b) => (a.collection < b.collection ? -1 : a.collection > b.collection ? 1 : 0));
    components.push({
      component,
      strategy: c.collectionAffinity ? "Hash" : c.strategy,
      roots,
      collections,
    });
  }
  return { components, unseen };
}
