import {
  type Assignment,
  type AssignmentStore,
  type ComponentType,
  parseCollectionId,
} from "@proximadb/core";

/** A collection found on storage in a root other than the one the shared map records. */
export interface MismatchedCollection {
  readonly collection: string;
  /** Root recorded in the store (the collection's home). */
  readonly recordedUrl: string;
  /** Root where discovery found it. */
  readonly foundUrl: string;
}

/** Outcome of {@link reconcile}. Nothing is ever moved or re-placed. */
export interface ReconcileReport {
  /** Found on storage, unknown to the store, now recorded there (this node won the `putIfAbsent`). */
  readonly recorded: Assignment[];
  /** Recorded in the store in a scanned root, but not found there. */
  readonly missing: Assignment[];
  /** Found in a root other than the recorded one (also when another node recorded it first). */
  readonly mismatched: MismatchedCollection[];
  /** Found exactly where the store says. */
  readonly agreed: number;
}

/** Options of {@link reconcile}. */
export interface ReconcileOptions {
  /**
   * Roots that discovery listed successfully. An entry is reported `missing` only when its recorded
   * root is one of them: a collection in an offline or unscanned root is not missing. Default: the
   * roots of the discovered collections.
   */
  readonly scannedRoots?: readonly string[];
  /** `assignedAt` for recorded entries without one. Default `Date.now()`. */
  readonly now?: () => number;
}

/**
 * Compares what a node discovered on its roots with the shared map at start-up. A collection on
 * storage but not in the store is recorded (through `putIfAbsent`, so a concurrent node's record
 * wins cleanly); one recorded but not found where it should be is reported, never re-placed.
 *
 * @example
 * const report = await reconcile(store, "wal", found.map((f) => ({ collection: f.id, url: f.root })));
 * for (const m of report.missing) log.warn("missing", m.collection, m.url);
 */
export async function reconcile(
  store: AssignmentStore,
  component: ComponentType,
  discovered: ReadonlyArray<{
    readonly collection: string;
    readonly url: string;
    readonly assignedAt?: number;
  }>,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const now = options.now ?? Date.now;
  const scanned = new Set(options.scannedRoots ?? discovered.map((d) => d.url));
  const recorded: Assignment[] = [];
  const mismatched: MismatchedCollection[] = [];
  const found = new Set<string>();
  let agreed = 0;
  await Promise.all(
    discovered.map(async (d) => {
      const collection = parseCollectionId(d.collection);
      found.add(`${collection}\n${d.url}`);
      const known = await store.get(component, collection);
      const result = known
        ? { created: false, assignment: known }
        : await store.putIfAbsent({ collection, component, url: d.url, assignedAt: d.assignedAt ?? now() });
      if (result.created) recorded.push(result.assignment);
      else if (result.assignment.url === d.url) agreed++;
      else mismatched.push({ collection, recordedUrl: result.assignment.url, foundUrl: d.url });
    }),
  );
  const missing = (await store.list(component)).filter(
    (a) => scanned.has(a.url) && !found.has(`${a.collection}\n${a.url}`),
  );
  const byName = (a: { collection: string }, b: { collection: string }) =>
    a.collection < b.collection ? -1 : a.collection > b.collection ? 1 : 0;
  return {
    recorded: recorded.sort(byName),
    missing: missing.sort(byName),
    mismatched: mismatched.sort(byName),
    agreed,
  };
}
