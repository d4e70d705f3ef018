import { type AssignmentService, StoreConflictError } from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryReport } from "./types.js";

/** A collection the store already places in another root than the one discovery found it in. */
export interface RecordMismatch {
  collection: string;
  /** Where discovery found the live copy. */
  foundUrl: string;
  /** Where the store says it lives. */
  storedUrl: string | undefined;
}

/** Result of {@link recordInto}. */
export interface RecordResult {
  /** Live collections recorded (or already recorded in the same root). */
  recorded: number;
  /** Roots marked `offline` because discovery did not find them `online`. */
  offlineRoots: string[];
  /** Collections the store places elsewhere (shared stores); left as the store says, never overwritten. */
  mismatches: RecordMismatch[];
}

/**
 * Records what discovery found into an {@link AssignmentService}:
 * - every root that is not `online` is set `offline`, so the service refuses to place its
 *   collections (or, with a per-process store, any new collection) elsewhere while it is away;
 *   an online root the service had `offline` becomes `active` again (a `cordoned` root stays cordoned);
 * - every online root's data bytes are reported (for `LeastUsed`), when known: a `names`-level report of
 *   a local root has none, and `LeastUsed` then compares collection counts;
 * - every live collection is recorded with `assignedAt` = its oldest data file, oldest first, so the
 *   round-robin cursor and per-root counts reflect what is on storage. A copy without times (`names`
 *   level) is recorded with the service's clock, after the dated ones, by id.
 */
export async function recordInto(
  service: AssignmentService,
  report: DiscoveryReport<DiscoveryDetail>,
): Promise<RecordResult> {
  const { component } = report;
  const states = new Map(
    service
      .stats()
      .find((s) => s.component === component)
      ?.roots.map((r) => [r.url, r.state]) ?? [],
  );
  const offlineRoots: string[] = [];
  for (const root of report.roots) {
    if (root.status === "online") {
      if (states.get(root.url) === "offline") service.setRootState(component, root.url, "active");
      if (root.bytes !== undefined) service.setRootUsage(component, root.url, root.bytes);
    } else {
      service.setRootState(component, root.url, "offline");
      offlineRoots.push(root.url);
    }
  }
  const undated = Number.POSITIVE_INFINITY;
  const live = Object.values(report.collections).sort(
    (a, b) => (a.oldestMs ?? undated) - (b.oldestMs ?? undated) || (a.collection < b.collection ? -1 : 1),
  );
  let recorded = 0;
  const mismatches: RecordMismatch[] = [];
  for (const c of live) {
    try {
      await service.record({
        collection: c.collection,
        component,
        url: c.url,
        ...(c.oldestMs === undefined ? {} : { assignedAt: c.oldestMs }),
      });
      recorded++;
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      const stored = await service.store.get(component, c.collection);
      mismatches.push({ collection: c.collection, foundUrl: c.url, storedUrl: stored?.url });
    }
  }
  return { recorded, offlineRoots, mismatches };
}
