import type { ComponentType, FileSystem } from "@proximadb/core";
import type { DiscoveredCollection, DiscoveryReport } from "@proximadb/discovery";
import pLimit from "p-limit";
import { readDefinitionAt } from "./catalog.js";
import { describe } from "./errors.js";

/** Collections found on storage without a readable definition (what `proximadb orphans` lists). */
export interface OrphanReport {
  readonly collection: string;
  /** Every copy of its data in an online root, by component. */
  readonly locations: { component: ComponentType; url: string; files: number; bytes: number }[];
  readonly reason: string;
}

type Reports = Partial<Record<ComponentType, DiscoveryReport>>;

/** Every copy of a collection in a component's online roots (a conflict has several). */
function copiesOf(report: DiscoveryReport, id: string): DiscoveredCollection[] {
  const conflict = report.conflicts.find((c) => c.collection === id);
  if (conflict) return conflict.copies;
  const live = report.collections[id];
  return live ? [live] : [];
}

/** Roots that are not online, by URL (offline roots may hold more of an orphan, or its definition). */
export function offlineRoots(reports: Reports): { component: ComponentType; url: string; status: string }[] {
  return Object.values(reports).flatMap((r) =>
    r.roots
      .filter((x) => x.status !== "online")
      .map((x) => ({ component: r.component, url: x.url, status: x.status })),
  );
}

/**
 * Finds the orphans in discovery reports (read-only, with the deployment's statuses applied): every id
 * with data in a component's online roots and no readable `collection.json` in its metadata root.
 * `fileSystem(url)` opens a metadata root to read definitions.
 */
export async function findOrphans(
  reports: Reports,
  fileSystem: (url: string) => FileSystem | undefined,
): Promise<OrphanReport[]> {
  const unreadable = new Map<string, string>();
  const defined = new Set<string>();
  const meta = reports.metadata;
  const limit = pLimit(16);
  await Promise.all(
    Object.values(meta?.collections ?? {}).map((c) =>
      limit(async () => {
        const fs = fileSystem(c.url);
        try {
          if (fs && (await readDefinitionAt(fs, c.collection))) defined.add(c.collection);
        } catch (err) {
          unreadable.set(c.collection, describe(err));
        }
      }),
    ),
  );
  const offlineMeta = meta?.roots.filter((r) => r.status !== "online").map((r) => r.url) ?? [];
  const ids = new Set(Object.values(reports).flatMap((r) => Object.keys(r.collections)));
  const out: OrphanReport[] = [];
  for (const id of [...ids].sort()) {
    if (defined.has(id)) continue;
    const locations = Object.values(reports).flatMap((r) =>
      copiesOf(r, id).map((c) => ({ component: r.component, url: c.url, files: c.files, bytes: c.bytes })),
    );
    const reason =
      unreadable.get(id) ??
      (offlineMeta.length > 0
        ? `no definition on the online metadata roots; offline metadata root ${offlineMeta.join(", ")} may hold it`
        : "data without a collection definition");
    out.push({ collection: id, locations, reason });
  }
  return out;
}

/**
 * Deletes every copy of an orphan's data from the online roots that hold it (`deletePrefix("<id>/")`
 * in each); returns the locations emptied. Offline roots are never written.
 */
export async function removeOrphan(
  orphan: OrphanReport,
  fileSystem: (url: string) => FileSystem | undefined,
): Promise<{ component: ComponentType; url: string }[]> {
  const removed: { component: ComponentType; url: string }[] = [];
  for (const l of orphan.locations) {
    const fs = fileSystem(l.url);
    if (!fs) continue;
    await fs.deletePrefix(`${orphan.collection}/`);
    removed.push({ component: l.component, url: l.url });
  }
  return removed;
}
