import type { CollectionId, ComponentType, FileSystem } from "@proximadb/core";

/**
 * What discovery concluded about one root.
 * - `online`: listed completely; its collections are in the report.
 * - `missing`: the root does not exist, or its identity marker is absent although collections are
 *   expected there (see {@link DiscoverOptions.expectedMarkers} and {@link RootMarkerV1.siblings}).
 * - `unreachable`: probing, reading the marker or listing failed (also mid-listing).
 * - `foreign`: the marker belongs to another root identity, component or deployment, or is unreadable.
 *
 * Set only by the deployment assessment (`assessDeployment`, `applyAssessment`):
 * - `empty`: a root the deployment knows exists but is empty and unmarked (an unmounted mount point);
 * - `new`: configured, known to no marker (or an interrupted initialisation) and empty or absent: it may be
 *   initialised and joined;
 * - `unconfigured`: known to the markers as active but no longer in the configuration.
 *
 * Only `online` roots contribute collections; every other status makes the root offline.
 */
export type RootStatus = "online" | "missing" | "unreachable" | "foreign" | "empty" | "new" | "unconfigured";

/**
 * The identity marker of the previous release (format 1) at the top of a root (`_proximadb_root.json`).
 * Written once, by exclusive create, when an engine first opens the root for writing; never by discovery.
 * Still read, and upgraded to {@link RootMarkerV2} by `rewriteMarkers`.
 */
export interface RootMarkerV1 {
  /** Marker format version. */
  format: 1;
  /** Identity of this root; a different UUID at the same URL means another (or a re-created) root. */
  uuid: string;
  /** The component whose root this is. */
  component: ComponentType;
  /** Canonical URL the root had when the marker was written (informational: disks may be remounted). */
  url: string;
  /** ISO-8601 creation time. */
  createdAt: string;
  /** Deployment (cluster) name, when the engine was configured with one. */
  deployment?: string;
  /**
   * URLs of sibling roots (same component) that already carried a marker when this one was written.
   * Each later marker vouches for the earlier ones: a listed sibling without a marker is `missing`.
   */
  siblings?: string[];
}

/** Lifecycle of a root inside its deployment. */
export type DeploymentRootState = "initializing" | "active" | "retired";

/** One root of a deployment, as every marker (format 2) lists it. */
export interface DeploymentRootEntry {
  /**
   * The root's identity. Absent only for a root adopted from a format-1 sibling list whose own marker was
   * not readable at the upgrade: it is then matched by URL and component, and its UUID is filled in from
   * its format-1 marker when it comes back.
   */
  uuid?: string;
  /** Canonical URL the deployment last saw the root at. */
  url: string;
  component: ComponentType;
  state: DeploymentRootState;
  /** ISO-8601 time the root joined the deployment. */
  addedAt: string;
  /** ISO-8601 time the root was retired. */
  retiredAt?: string;
}

/**
 * The identity marker (format 2) at the top of every root: the deployment's UUID, this root's UUID and
 * every root of the deployment (all components), so any one surviving root knows every other.
 * Stored as `_proximadb_root.v<version>.json` (created exclusively: the conditional step) and copied to
 * `_proximadb_root.json`; see the package README.
 */
export interface RootMarkerV2 {
  format: 2;
  /** The deployment's UUID. */
  deployment: string;
  /** This root's UUID. */
  root: string;
  component: ComponentType;
  /** Canonical URL of this root when this version was written. */
  url: string;
  /** Version of the deployment's roots list: +1 on every rewrite; the highest version seen wins. */
  version: number;
  /** ISO-8601 time this root's identity was created (kept across rewrites). */
  createdAt: string;
  /** ISO-8601 time this version was written. */
  updatedAt: string;
  /** Every root of the deployment, every component, retired ones included. */
  roots: DeploymentRootEntry[];
  /** The format-1 deployment name, kept when format-1 markers were upgraded. */
  name?: string;
}

/** A root's identity marker, of either format. */
export type RootMarker = RootMarkerV1 | RootMarkerV2;

/**
 * How much discovery reads about each data file:
 * - `sizes` (default): names, sizes and modification times. On local disk that is one `stat` per file.
 * - `names`: names and types only, which is all recognising collections needs — on local disk one
 *   `readdir` per folder and no `stat`. Sizes and times are kept where the listing returned them anyway
 *   (object stores), and read for the copies of a collection found in two roots (to pick the live copy).
 */
export type DiscoveryDetail = "names" | "sizes";

/** Sizes and times of one copy's data files. */
export interface CollectionSizes {
  /** Bytes of the data files. */
  bytes: number;
  /** Oldest data-file modification time (ms since the epoch): the recorded `assignedAt`. */
  oldestMs: number;
  /** Newest data-file modification time (ms since the epoch): decides conflicts. */
  newestMs: number;
}

/** What every level knows about one collection found in one root. */
export interface CollectionCopy {
  collection: CollectionId;
  /** Canonical URL of the root holding this copy. */
  url: string;
  /** Index of that root in the configured list. */
  index: number;
  /** Data files of the component (staging, temp, reserved and foreign files excluded). */
  files: number;
}

/**
 * One collection found in one root. At the `sizes` level (the default type) `bytes`, `oldestMs` and
 * `newestMs` are always present; at the `names` level only where they were known without extra reads
 * (object-store listings) or were read to resolve a conflict.
 */
export type DiscoveredCollection<D extends DiscoveryDetail = "sizes"> = CollectionCopy &
  (D extends "sizes" ? CollectionSizes : Partial<CollectionSizes>);

/** LIST requests each plan costs (or would have cost) for one root. */
export interface PlanCosts {
  /** One flat paginated listing of the whole root: `max(1, ⌈N / P⌉)`. Known only after a flat listing. */
  flat?: number;
  /** Delimiter listing of the top level plus one listing per candidate collection. */
  delimiter?: number;
  /** The original design: one listing of the root plus one per top-level folder (`1 + C`), ignoring pagination. */
  original?: number;
}

/** What every level knows about one root. */
export interface RootSummary {
  url: string;
  index: number;
  status: RootStatus;
  /** The root's identity marker, when it has a readable one. */
  marker?: RootMarker;
  /** Collections (data found) in this root; 0 unless `online`. */
  collections: number;
  /** Data files in those collections. */
  files: number;
  /**
   * LIST requests (pages) issued for this root; at the `names` level this includes the listings of
   * conflicting copies whose sizes were read.
   */
  requests: number;
  /** The listing plan used; `none` when the root was not listed. */
  plan: "flat" | "delimiter" | "none";
  /** What each plan costs for this root, as far as the listing revealed. */
  costs?: PlanCosts;
  /** Why the root is not online (typed kind and message; never a secret). */
  error?: string;
  /**
   * Set by `applyAssessment` for an online root whose marker recorded another URL (a mount swap): the
   * listing is the truth, the collections follow the disk; `rewriteMarkers` records the new URL.
   */
  moved?: { from: string };
  /** The root itself does not exist (its probe said so), as opposed to existing without its marker. */
  absent?: boolean;
  /**
   * A marker was expected in this root (`expectedMarkers`, or a sibling root's marker lists it). An absent
   * root that is not expected is simply new: an engine may create it (see `createMissingRoots` in
   * `@proximadb/engine`); an expected one may be an unmounted disk and must not be re-created.
   */
  expected?: boolean;
}

/**
 * What discovery found in one root. `bytes` (of its data files) is always present at the `sizes` level;
 * at the `names` level only when every data file's size was known (always for a root without data).
 */
export type RootReport<D extends DiscoveryDetail = "sizes"> = RootSummary &
  (D extends "sizes"
    ? {
        /** Bytes of the root's data files. */
        bytes: number;
      }
    : {
        /** Bytes of the root's data files, when every size is known. */
        bytes?: number;
      });

/**
 * A collection found in more than one root of one component. Nothing is deleted. Every copy carries its
 * sizes and times at every level: they decide which copy is live.
 */
export interface ConflictReport {
  collection: CollectionId;
  /** Every copy, by root index. */
  copies: DiscoveredCollection<"sizes">[];
  /** URL of the live copy: newest data (`newestMs`), then the lower root index. */
  chosen: string;
}

/** Why a key (or a whole top-level folder, key ending in `/`) was not counted as data. */
export type IgnoredReason =
  | "staging"
  | "reserved"
  | "temp"
  | "not-data"
  | "invalid-collection-id"
  | "top-level-file";

/** A key discovery skipped. */
export interface IgnoredEntry {
  url: string;
  /** Root-relative key; a top-level folder skipped as a whole ends with `/`. */
  key: string;
  reason: IgnoredReason;
}

/**
 * Everything discovery found for one component. `DiscoveryReport` (no argument) is the default `sizes`
 * level; `discover({ detail: "names" })` returns a `DiscoveryReport<"names">`, and code that accepts
 * either takes a `DiscoveryReport<DiscoveryDetail>`.
 */
export interface DiscoveryReport<D extends DiscoveryDetail = "sizes"> {
  component: ComponentType;
  /** The level the report was made at. */
  detail: D;
  /** One report per root, in configured order. */
  roots: RootReport<D>[];
  /** The live copy of every collection found in an online root, by collection id. */
  collections: Record<string, DiscoveredCollection<D>>;
  conflicts: ConflictReport[];
  /**
   * Skipped keys, in root order. Every `staging` entry is kept (the engine cleans stale staging from
   * them without listing again); other reasons are capped at {@link DiscoverOptions.ignoredLimit}.
   */
  ignored: IgnoredEntry[];
  /** Count of skipped entries per reason, including those left out of `ignored`. */
  ignoredCounts: Record<IgnoredReason, number>;
  /** Entries left out of `ignored` by the cap. */
  ignoredTruncated: number;
  /** LIST requests issued over all roots. */
  requests: number;
  durationMs: number;
  /** Set by `applyAssessment`: the deployment's UUID, when it has one. */
  deployment?: string;
  /**
   * Set by `applyAssessment`: roots of this component the markers know as active but the configuration no
   * longer names. Not retired, not forgotten: `discover` must exit 3 and `serve` refuse while any is listed.
   */
  unconfigured?: UnconfiguredRoot[];
}

/** A root the deployment's markers list as active that the configuration does not name. */
export interface UnconfiguredRoot {
  url: string;
  component: ComponentType;
  /** Its UUID, when known (absent for a format-1 sibling whose marker was never read). */
  uuid?: string;
  status: "unconfigured";
}

/** Progress events, e.g. for a progress bar. The report is authoritative; events are progress only. */
export type DiscoveryEvent =
  | { type: "root-started"; component: ComponentType; url: string; index: number }
  | {
      type: "root-finished";
      component: ComponentType;
      url: string;
      index: number;
      status: RootStatus;
      collections: number;
      files: number;
    }
  /** `count`: files scanned so far in this root (cumulative), after each LIST page. */
  | { type: "files-scanned"; component: ComponentType; url: string; count: number }
  | { type: "collection-found"; component: ComponentType; url: string; collection: CollectionId };

/** Listing plan selection: `auto` picks the cheaper plan (see the README's cost model). */
export type ListingPlan = "auto" | "flat" | "delimiter";

/** Options of {@link discover}. */
export interface DiscoverOptions<D extends DiscoveryDetail = DiscoveryDetail> {
  component: ComponentType;
  /**
   * What to read per data file (default `sizes`, the behaviour before the option existed). `names` skips
   * the per-file `stat` on local disk: the report has the same collections, conflicts (with the same live
   * copies), root statuses and ignored entries, without `bytes`/`oldestMs`/`newestMs` for collections not
   * in conflict. Use it where only recognising collections matters (engine start-up), `sizes` where bytes
   * or times are shown or decide something (`LeastUsed` by bytes, `stats`).
   */
  detail?: D;
  /** The component's roots in configured order: a root's index is its position. */
  roots: readonly FileSystem[];
  /** Roots listed at once (default 4). */
  concurrency?: number;
  /**
   * Deployment a marker must belong to, or its root is `foreign`: compared with a format-1 marker's
   * deployment name and a format-2 marker's deployment UUID (pass `assessment.deployment`).
   */
  deployment?: string;
  /** Root URL → marker UUID the caller knows. Marker absent → `missing`; another UUID → `foreign`. */
  expectedMarkers?: Record<string, string>;
  onEvent?: (e: DiscoveryEvent) => void;
  signal?: AbortSignal;
  /** Force a listing plan (default `auto`). */
  plan?: ListingPlan;
  /** Keys per LIST request (default and cap: the backend's `maxListPageSize`). */
  pageSize?: number;
  /**
   * The previous report of this component: with `plan: "auto"`, a root whose last flat listing showed
   * the delimiter plan to be cheaper (big non-collection folders) is listed with the delimiter plan.
   */
  previous?: DiscoveryReport<DiscoveryDetail>;
  /** Cap on non-staging entries in `ignored` (default 1,000). */
  ignoredLimit?: number;
}
