import {
  assertDisjointRoots,
  type CollectionId,
  type ComponentType,
  EmptyRootListError,
  type FileSystem,
  FsError,
  InvalidArgumentError,
  isComponentType,
  ProximaError,
} from "@proximadb/core";
import pLimit, { type LimitFunction } from "p-limit";
import { assertMarkerFits, ForeignRootError, markerRootUuid, readRootMarker, vouchedUrls } from "./marker.js";
import { measureCopy } from "./measure.js";
import {
  type CollectionStats,
  FOLDER_LISTINGS,
  type RootScan,
  scanDelimiter,
  scanFlat,
  zeroCounts,
} from "./scan.js";
import type {
  ConflictReport,
  DiscoveredCollection,
  DiscoverOptions,
  DiscoveryDetail,
  DiscoveryEvent,
  DiscoveryReport,
  IgnoredEntry,
  RootMarker,
  RootReport,
  RootSummary,
} from "./types.js";

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_IGNORED_LIMIT = 1000;

/** A typed, secret-free description of a failure for {@link RootReport.error}. */
function describeError(err: unknown): string {
  if (err instanceof FsError)
    return `${err.kind}${err.status === undefined ? "" : ` (${err.status})`}: ${err.message}`;
  // ProximaError messages are built to be safe to show; anything else may carry arbitrary text.
  if (err instanceof ProximaError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `Unknown: ${err.name}`;
  return "Unknown";
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new InvalidArgumentError(`${name} must be a positive integer (got ${value})`);
  return value;
}

/** One root's outcome before the cross-root rules (siblings, conflicts) are applied. */
interface RootOutcome {
  report: RootReport<DiscoveryDetail>;
  fs: FileSystem;
  scan?: RootScan;
  /** No marker and no expectation of our own: a sibling's marker may still make it `missing`. */
  pendingSiblingCheck: boolean;
}

/**
 * Flat unless what we know says otherwise: flat never costs more than the delimiter plan while every
 * key lies in a candidate collection (see README); a previous listing that measured both plans decides.
 */
function autoPlan(previous: RootSummary | undefined): "flat" | "delimiter" {
  const c = previous?.costs;
  if (previous?.plan === "delimiter" && c?.flat === undefined) return "delimiter";
  return c?.flat !== undefined && c.delimiter !== undefined && c.delimiter < c.flat ? "delimiter" : "flat";
}

/** The live copy: newest data first, then the lower root index. */
function liveCopyOrder(a: DiscoveredCollection<"sizes">, b: DiscoveredCollection<"sizes">): number {
  return b.newestMs - a.newestMs || a.index - b.index;
}

/** One copy as reported: its sizes and times only when every data file's were read. */
function copyOf(
  collection: CollectionId,
  report: RootReport<DiscoveryDetail>,
  s: CollectionStats,
): DiscoveredCollection<DiscoveryDetail> {
  const { url, index } = report;
  return s.sized
    ? { collection, url, index, files: s.files, bytes: s.bytes, oldestMs: s.oldestMs, newestMs: s.newestMs }
    : { collection, url, index, files: s.files };
}

/** A root found unreachable after its listing (reading a conflicting copy's sizes failed). */
function unreachable(o: RootOutcome, err: unknown): void {
  o.report = {
    ...o.report,
    status: "unreachable",
    collections: 0,
    files: 0,
    bytes: 0,
    error: describeError(err),
  };
  delete o.scan;
}

async function discoverWith(
  options: DiscoverOptions,
  limit: LimitFunction,
): Promise<DiscoveryReport<DiscoveryDetail>> {
  const t0 = performance.now();
  const { component, roots, signal } = options;
  if (!isComponentType(component))
    throw new InvalidArgumentError(`unknown component ${JSON.stringify(component)}`);
  if (roots.length === 0) throw new EmptyRootListError(component);
  assertDisjointRoots(roots.map((fs) => fs.root));
  const ignoredLimit = options.ignoredLimit ?? DEFAULT_IGNORED_LIMIT;
  if (!Number.isInteger(ignoredLimit) || ignoredLimit < 0)
    throw new InvalidArgumentError(`ignoredLimit must be a non-negative integer (got ${ignoredLimit})`);
  const plan = options.plan ?? "auto";
  if (!["auto", "flat", "delimiter"].includes(plan))
    throw new InvalidArgumentError(`plan must be auto, flat or delimiter (got ${String(plan)})`);
  if (options.pageSize !== undefined) positiveInt("pageSize", options.pageSize, 1);
  const detail = options.detail ?? "sizes";
  if (detail !== "names" && detail !== "sizes")
    throw new InvalidArgumentError(`detail must be names or sizes (got ${String(detail)})`);
  signal?.throwIfAborted();
  const emit = (e: DiscoveryEvent) => options.onEvent?.(e);
  const expected = options.expectedMarkers ?? {};

  const emitFinished = (r: RootReport<DiscoveryDetail>) =>
    emit({
      type: "root-finished",
      component,
      url: r.url,
      index: r.index,
      status: r.status,
      collections: r.collections,
      files: r.files,
    });

  const scanRoot = async (fs: FileSystem, index: number): Promise<RootOutcome> => {
    const url = fs.root.url;
    const report: RootReport<DiscoveryDetail> = {
      url,
      index,
      status: "online",
      collections: 0,
      files: 0,
      bytes: 0,
      requests: 0,
      plan: "none",
    };
    emit({ type: "root-started", component, url, index });
    const finish = (outcome: RootOutcome): RootOutcome => {
      if (!outcome.pendingSiblingCheck) emitFinished(outcome.report);
      return outcome;
    };
    /** The end of a root that is not online: `status`, with what was wrong (no sibling check pending). */
    const fail = (
      status: RootReport<DiscoveryDetail>["status"],
      error: string,
      extra: { absent?: true } = {},
    ) => finish({ report: { ...report, status, error, ...extra }, fs, pendingSiblingCheck: false });
    // 1. Does the root exist at all?
    try {
      if (!(await fs.probe()).exists) {
        return fail("missing", "NotFound: the root does not exist", { absent: true });
      }
    } catch (err) {
      signal?.throwIfAborted();
      return fail("unreachable", describeError(err));
    }
    // 2. Whose root is it?
    let marker: RootMarker | undefined;
    try {
      marker = await readRootMarker(fs);
      if (marker) {
        report.marker = marker;
        assertMarkerFits(url, marker, component, options.deployment);
        const want = expected[url];
        if (want !== undefined && markerRootUuid(marker) !== want)
          throw new ForeignRootError(url, "uuid", "its marker has another UUID than expected");
      } else if (expected[url] !== undefined) {
        return fail(
          "missing",
          "NotFound: the root's marker is absent although collections are expected there",
        );
      }
    } catch (err) {
      signal?.throwIfAborted();
      const status = err instanceof ForeignRootError ? "foreign" : "unreachable";
      return fail(status, describeError(err));
    }
    // 3. List it. Flat is never more expensive while the top level holds only collections (see README).
    const chosen = plan === "auto" ? autoPlan(options.previous?.roots.find((r) => r.url === url)) : plan;
    const pageSize = Math.min(
      options.pageSize ?? fs.capabilities.maxListPageSize,
      fs.capabilities.maxListPageSize,
    );
    const ctx = { fs, component, detail, pageSize, ignoredLimit, signal, emit };
    report.plan = chosen;
    let scan: RootScan | undefined;
    try {
      scan = chosen === "flat" ? await scanFlat(ctx) : await scanDelimiter(ctx);
    } catch (err) {
      signal?.throwIfAborted();
      return fail("unreachable", describeError(err));
    }
    report.requests = scan.requests;
    report.costs = scan.costs;
    for (const s of scan.collections.values()) {
      report.collections++;
      report.files += s.files;
    }
    return finish({ report, fs, scan, pendingSiblingCheck: marker === undefined });
  };

  const outcomes = await Promise.all(roots.map((fs, index) => limit(() => scanRoot(fs, index))));
  signal?.throwIfAborted();

  // Markers of trusted roots vouch for their siblings: a vouched-for root without a marker is missing.
  const vouched = new Set<string>();
  for (const o of outcomes)
    if (o.report.status === "online")
      for (const s of o.report.marker ? vouchedUrls(o.report.marker) : []) vouched.add(s);
  for (const o of outcomes) {
    if (o.report.absent)
      o.report.expected = vouched.has(o.report.url) || expected[o.report.url] !== undefined;
    if (!o.pendingSiblingCheck) continue;
    if (vouched.has(o.report.url)) {
      o.report = {
        ...o.report,
        status: "missing",
        collections: 0,
        files: 0,
        bytes: 0,
        error: "NotFound: the root's marker is absent although a sibling root's marker lists it",
      };
      delete o.scan;
    }
    emitFinished(o.report);
  }

  // A collection in several online roots is a conflict, decided by its copies' newest data: read the
  // sizes and times of copies listed without them (names level). A root that fails it is unreachable.
  const found = new Map<CollectionId, { o: RootOutcome; s: CollectionStats }[]>();
  for (const o of outcomes) {
    if (!o.scan || o.report.status !== "online") continue;
    for (const [collection, s] of o.scan.collections) {
      const list = found.get(collection);
      if (list) list.push({ o, s });
      else found.set(collection, [{ o, s }]);
    }
  }
  const failed = new Map<RootOutcome, unknown>();
  // Copies are measured several at once (on object stores one LIST round trip each), apart from the bound
  // on roots: the roots are listed by now.
  const measure = pLimit(FOLDER_LISTINGS);
  await Promise.all(
    [...found]
      .filter(([, l]) => l.length > 1)
      .flatMap(([collection, l]) => l.filter((c) => !c.s.sized).map((c) => ({ collection, ...c })))
      .map(({ collection, o, s }) =>
        measure(async () => {
          if (failed.has(o)) return;
          try {
            const pageSize = Math.min(
              options.pageSize ?? o.fs.capabilities.maxListPageSize,
              o.fs.capabilities.maxListPageSize,
            );
            const m = await measureCopy(o.fs, component, collection, { pageSize, signal });
            Object.assign(s, m.sizes, { sized: true });
            o.report.requests += m.requests;
          } catch (err) {
            signal?.throwIfAborted();
            failed.set(o, err);
          }
        }),
      ),
  );
  signal?.throwIfAborted();
  for (const [o, err] of failed) unreachable(o, err);
  for (const o of outcomes) {
    if (!o.scan || o.report.status !== "online") continue;
    let bytes = 0;
    let sized = true;
    for (const s of o.scan.collections.values()) {
      if (!s.sized) sized = false;
      bytes += s.bytes;
    }
    if (sized) o.report.bytes = bytes;
    else delete o.report.bytes;
  }

  // Skipped keys of online roots, in root order, under one cap.
  const ignored: IgnoredEntry[] = [];
  const ignoredCounts = zeroCounts();
  let ignoredTruncated = 0;
  let kept = 0;
  for (const o of outcomes) {
    if (!o.scan || o.report.status !== "online") continue;
    for (const [reason, n] of Object.entries(o.scan.ignoredCounts))
      ignoredCounts[reason as keyof typeof ignoredCounts] += n;
    ignoredTruncated += o.scan.ignoredTruncated;
    for (const e of o.scan.ignored) {
      if (e.reason !== "staging" && kept >= ignoredLimit) {
        ignoredTruncated++;
        continue;
      }
      if (e.reason !== "staging") kept++;
      ignored.push(e);
    }
  }

  // The live copy of every collection, by id; copies in several online roots are conflicts.
  const collections: Record<string, DiscoveredCollection<DiscoveryDetail>> = {};
  const conflicts: ConflictReport[] = [];
  for (const collection of [...found.keys()].sort()) {
    const list = (found.get(collection) ?? []).filter((c) => c.o.report.status === "online");
    if (list.length === 0) continue;
    if (list.length === 1) {
      const only = list[0] as (typeof list)[number];
      collections[collection] = copyOf(collection, only.o.report, only.s);
      continue;
    }
    // Every copy of a conflict was measured above; `list` is in root order.
    const sized = list.map((c) => copyOf(collection, c.o.report, c.s) as DiscoveredCollection<"sizes">);
    const live = [...sized].sort(liveCopyOrder)[0] as DiscoveredCollection<"sizes">;
    collections[collection] = live;
    conflicts.push({ collection, copies: sized, chosen: live.url });
  }
  const reports = outcomes.map((o) => o.report);
  return {
    component,
    detail,
    roots: reports,
    collections,
    conflicts,
    ignored,
    ignoredCounts,
    ignoredTruncated,
    requests: reports.reduce((n, r) => n + r.requests, 0),
    durationMs: performance.now() - t0,
  };
}

/**
 * Lists every root of one component (a bounded number at once) and reports its collections,
 * conflicts, offline roots and skipped keys. Read-only: creates nothing. A failing root never fails
 * the others; only invalid options (or `signal` aborting) reject.
 *
 * `detail: "names"` recognises collections from names alone (no `stat` per file on local disk) and reads
 * sizes and times only for the copies of collections found in two roots; the default `sizes` reads them
 * for every data file. See {@link DiscoverOptions.detail}.
 *
 * @example
 * const report = await discover({ component: "wal", roots: [fsA, fsB] });
 * report.collections["orders"]; // { url: "file:///mnt/nvme1/wal", files: 3, bytes: 4096, ... }
 * const quick = await discover({ component: "wal", roots: [fsA, fsB], detail: "names" });
 * quick.collections["orders"]; // { url: "file:///mnt/nvme1/wal", files: 3, ... } (no stat per file)
 */
export function discover<D extends DiscoveryDetail = "sizes">(
  options: DiscoverOptions<D>,
): Promise<DiscoveryReport<D>> {
  try {
    return discoverWith(
      options,
      pLimit(positiveInt("concurrency", options.concurrency, DEFAULT_CONCURRENCY)),
    ) as Promise<DiscoveryReport<D>>;
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Discovers several components concurrently, sharing one bound on roots listed at once. `detail` applies
 * to every component that does not set its own (default `sizes`).
 * @throws InvalidArgumentError when a component appears twice.
 */
export async function discoverAll<D extends DiscoveryDetail = "sizes">(
  components: readonly Omit<DiscoverOptions<D>, "onEvent" | "concurrency">[],
  options: { concurrency?: number; onEvent?: (e: DiscoveryEvent) => void; detail?: D } = {},
): Promise<Record<ComponentType, DiscoveryReport<D>>> {
  const limit = pLimit(positiveInt("concurrency", options.concurrency, DEFAULT_CONCURRENCY));
  const seen = new Set<string>();
  for (const c of components) {
    if (seen.has(c.component)) throw new InvalidArgumentError(`component ${c.component} is listed twice`);
    seen.add(c.component);
  }
  const reports = await Promise.all(
    components.map((c) =>
      discoverWith(
        {
          ...c,
          ...((c.detail ?? options.detail) === undefined ? {} : { detail: c.detail ?? options.detail }),
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        },
        limit,
      ),
    ),
  );
  return Object.fromEntries(reports.map((r) => [r.component, r])) as Record<
    ComponentType,
    DiscoveryReport<D>
  >;
}

/**
 * True for a root that may be created: it does not exist and no marker expects it (a new deployment, or a
 * root just added to the config). An expected one may be an unmounted disk and must never be re-created.
 */
export function isNewRoot(root: RootReport<DiscoveryDetail>): boolean {
  return root.status === "missing" && root.absent === true && root.expected !== true;
}
