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
import { assertMarkerFits, ForeignRootError, readRootMarker } from "./marker.js";
import { type RootScan, scanDelimiter, scanFlat, zeroCounts } from "./scan.js";
import type {
  ConflictReport,
  DiscoveredCollection,
  DiscoverOptions,
  DiscoveryEvent,
  DiscoveryReport,
  IgnoredEntry,
  RootMarker,
  RootReport,
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
  report: RootReport;
  scan?: RootScan;
  /** No marker and no expectation of our own: a sibling's marker may still make it `missing`. */
  pendingSiblingCheck: boolean;
}

/**
 * Flat unless what we know says otherwise: flat never costs more than the delimiter plan while every
 * key lies in a candidate collection (see README); a previous listing that measured both plans decides.
 */
function autoPlan(previous: RootReport | undefined): "flat" | "delimiter" {
  const c = previous?.costs;
  if (previous?.plan === "delimiter" && c?.flat === undefined) return "delimiter";
  return c?.flat !== undefined && c.delimiter !== undefined && c.delimiter < c.flat ? "delimiter" : "flat";
}

/** The live copy: newest data first, then the lower root index. */
function liveCopyOrder(a: DiscoveredCollection, b: DiscoveredCollection): number {
  return b.newestMs - a.newestMs || a.index - b.index;
}

async function discoverWith(options: DiscoverOptions, limit: LimitFunction): Promise<DiscoveryReport> {
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
  signal?.throwIfAborted();
  const emit = (e: DiscoveryEvent) => options.onEvent?.(e);
  const expected = options.expectedMarkers ?? {};

  const emitFinished = (r: RootReport) =>
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
    const report: RootReport = {
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
    // 1. Does the root exist at all?
    try {
      if (!(await fs.probe()).exists) {
        return finish({
          report: { ...report, status: "missing", error: "NotFound: the root does not exist", absent: true },
          pendingSiblingCheck: false,
        });
      }
    } catch (err) {
      signal?.throwIfAborted();
      return finish({
        report: { ...report, status: "unreachable", error: describeError(err) },
        pendingSiblingCheck: false,
      });
    }
    // 2. Whose root is it?
    let marker: RootMarker | undefined;
    try {
      marker = await readRootMarker(fs);
      if (marker) {
        report.marker = marker;
        assertMarkerFits(url, marker, component, options.deployment);
        const want = expected[url];
        if (want !== undefined && marker.uuid !== want)
          throw new ForeignRootError(url, "OtherUuid", "its marker has another UUID than expected");
      } else if (expected[url] !== undefined) {
        return finish({
          report: {
            ...report,
            status: "missing",
            error: "NotFound: the root's marker is absent although collections are expected there",
          },
          pendingSiblingCheck: false,
        });
      }
    } catch (err) {
      signal?.throwIfAborted();
      const status = err instanceof ForeignRootError ? "foreign" : "unreachable";
      return finish({ report: { ...report, status, error: describeError(err) }, pendingSiblingCheck: false });
    }
    // 3. List it. Flat is never more expensive while the top level holds only collections (see README).
    const chosen = plan === "auto" ? autoPlan(options.previous?.roots.find((r) => r.url === url)) : plan;
    const pageSize = Math.min(
      options.pageSize ?? fs.capabilities.maxListPageSize,
      fs.capabilities.maxListPageSize,
    );
    const ctx = { fs, component, pageSize, ignoredLimit, signal, emit };
    report.plan = chosen;
    let scan: RootScan | undefined;
    try {
      scan = chosen === "flat" ? await scanFlat(ctx) : await scanDelimiter(ctx);
    } catch (err) {
      signal?.throwIfAborted();
      return finish({
        report: { ...report, status: "unreachable", error: describeError(err) },
        pendingSiblingCheck: false,
      });
    }
    report.requests = scan.requests;
    report.costs = scan.costs;
    for (const s of scan.collections.values()) {
      report.collections++;
      report.files += s.files;
      report.bytes += s.bytes;
    }
    return finish({ report, scan, pendingSiblingCheck: marker === undefined });
  };

  const outcomes = await Promise.all(roots.map((fs, index) => limit(() => scanRoot(fs, index))));
  signal?.throwIfAborted();

  // Markers of trusted roots vouch for their siblings: a vouched-for root without a marker is missing.
  const vouched = new Set<string>();
  for (const o of outcomes)
    if (o.report.status === "online") for (const s of o.report.marker?.siblings ?? []) vouched.add(s);
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

  // Collections of online roots; copies in several roots are conflicts.
  const copies = new Map<CollectionId, DiscoveredCollection[]>();
  const ignored: IgnoredEntry[] = [];
  const ignoredCounts = zeroCounts();
  let ignoredTruncated = 0;
  let kept = 0;
  for (const o of outcomes) {
    if (!o.scan || o.report.status !== "online") continue;
    for (const [collection, s] of o.scan.collections) {
      const copy: DiscoveredCollection = { collection, url: o.report.url, index: o.report.index, ...s };
      const list = copies.get(collection);
      if (list) list.push(copy);
      else copies.set(collection, [copy]);
    }
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
  const collections: Record<string, DiscoveredCollection> = {};
  const conflicts: ConflictReport[] = [];
  for (const [collection, list] of [...copies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const live = [...list].sort(liveCopyOrder)[0] as DiscoveredCollection;
    collections[collection] = live;
    if (list.length > 1)
      conflicts.push({ collection, copies: [...list].sort((a, b) => a.index - b.index), chosen: live.url });
  }
  const reports = outcomes.map((o) => o.report);
  return {
    component,
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
 * @example
 * const report = await discover({ component: "wal", roots: [fsA, fsB] });
 * report.collections["orders"]; // { url: "file:///mnt/nvme1/wal", files: 3, ... }
 */
export function discover(options: DiscoverOptions): Promise<DiscoveryReport> {
  try {
    return discoverWith(
      options,
      pLimit(positiveInt("concurrency", options.concurrency, DEFAULT_CONCURRENCY)),
    );
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Discovers several components concurrently, sharing one bound on roots listed at once.
 * @throws InvalidArgumentError when a component appears twice.
 */
export async function discoverAll(
  components: readonly Omit<DiscoverOptions, "onEvent" | "concurrency">[],
  options: { concurrency?: number; onEvent?: (e: DiscoveryEvent) => void } = {},
): Promise<Record<ComponentType, DiscoveryReport>> {
  const limit = pLimit(positiveInt("concurrency", options.concurrency, DEFAULT_CONCURRENCY));
  const seen = new Set<string>();
  for (const c of components) {
    if (seen.has(c.component)) throw new InvalidArgumentError(`component ${c.component} is listed twice`);
    seen.add(c.component);
  }
  const reports = await Promise.all(
    components.map((c) =>
      discoverWith({ ...c, ...(options.onEvent ? { onEvent: options.onEvent } : {}) }, limit),
    ),
  );
  return Object.fromEntries(reports.map((r) => [r.component, r])) as Record<ComponentType, DiscoveryReport>;
}

/**
 * True for a root that may be created: it does not exist and no marker expects it (a new deployment, or a
 * root just added to the config). An expected one may be an unmounted disk and must never be re-created.
 */
export function isNewRoot(root: RootReport): boolean {
  return root.status === "missing" && root.absent === true && root.expected !== true;
}
