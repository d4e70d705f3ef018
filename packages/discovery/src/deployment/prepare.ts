import type {
  ConflictReport,
  DiscoveredCollection,
  DiscoveryDetail,
  DiscoveryReport,
  RootReport,
} from "../types.js";
import { DeploymentError, type DeploymentErrorKind } from "./errors.js";
import {
  assessRoots,
  type DeploymentOptions,
  initDeployment,
  joinRoots,
  rewriteMarkers,
} from "./operations.js";
import type { ConfiguredRoot, DeploymentAssessment, DeploymentProblemKind } from "./types.js";

/** What {@link prepareDeployment} did, in order. */
export type PreparedStep = "init" | "upgrade" | "complete" | "join" | "rewrite";

/** The result of {@link prepareDeployment}. */
export interface PreparedDeployment {
  /** The assessment after every step: the statuses the node serves with. */
  assessment: DeploymentAssessment;
  /** The steps taken (empty when read-only or nothing was due). */
  performed: PreparedStep[];
}

/**
 * What a node runs at start-up, before discovery: reads every configured root's marker, assesses the
 * deployment, and takes the steps that are due and safe — a first start initialises (only when every root
 * is empty and unmarked), format-1 markers are upgraded, an interrupted initialisation is completed, new
 * empty roots join (only while every known root is online), and markers are rewritten after a mount swap
 * or for roots that missed a rewrite. Offline roots are never written. Never throws for a root's state:
 * problems (unconfigured roots, several deployments, …) are in `assessment.problems`; call
 * {@link assertServable} to refuse to serve.
 *
 * `readOnly: true` (what `discover` uses) only reads and assesses. `init: false` never initialises a
 * deployment (for nodes that must only join an existing one; `proximadb init` does it explicitly).
 *
 * @example
 * const roots = [{ component: "wal", fs: walFs }, { component: "viper", fs: viperFs }];
 * const { assessment } = await prepareDeployment(roots, { expectedDeployment: config.deployment });
 * assertServable(assessment); // DeploymentError "Unconfigured" → exit 2
 */
export async function prepareDeployment(
  roots: readonly ConfiguredRoot[],
  options: DeploymentOptions & { readOnly?: boolean; init?: boolean } = {},
): Promise<PreparedDeployment> {
  let a = await assessRoots(roots, options);
  const performed: PreparedStep[] = [];
  if (options.readOnly) return { assessment: a, performed };
  // Each step re-reads the roots; a step that changes nothing ends the loop.
  for (let i = 0; i < 6; i++) {
    const before = a.version;
    if (a.next.init && options.init !== false) {
      a = await initDeployment(roots, options);
      performed.push("init");
    } else if (a.next.upgrade) {
      a = await rewriteMarkers(roots, options);
      performed.push("upgrade");
    } else if (a.next.complete || a.next.join.length > 0) {
      const step = a.next.join.length > 0 ? "join" : "complete";
      a = await joinRoots(roots, a.next.join, options);
      performed.push(step);
    } else if (a.next.rewrite.length > 0) {
      a = await rewriteMarkers(roots, options);
      performed.push("rewrite");
    } else break;
    if (a.version === before && a.format === 2) break;
  }
  return { assessment: a, performed };
}

const ERROR_KIND: Record<DeploymentProblemKind, DeploymentErrorKind> = {
  Unconfigured: "Unconfigured",
  Ambiguous: "Ambiguous",
  DeploymentNotFound: "Ambiguous",
  NotInitializable: "NotEmpty",
  JoinBlocked: "RootOffline",
  CompleteBlocked: "RootOffline",
  UpgradeBlocked: "RootOffline",
};

/**
 * Throws when the node must not serve: a known active root is not configured (`Unconfigured`), the roots
 * carry several deployments or not the expected one (`Ambiguous`), or there is no deployment and the roots
 * cannot be initialised (`NotEmpty`). The message is one line naming the URLs and what to do.
 * Offline roots do not prevent serving: their collections are unavailable, the others serve.
 */
export function assertServable(a: DeploymentAssessment): void {
  const p = a.problems.find((x) => x.blocking);
  if (p) throw new DeploymentError(ERROR_KIND[p.kind], p.message, { urls: p.urls });
  if (a.deployment === undefined && a.format !== 1)
    throw new DeploymentError("NotInitialized", "the roots carry no deployment: run `proximadb init`");
}

/**
 * The roots the node may write to (WAL appends, flush and compaction staging, definitions): the `online`
 * ones. Every other status — `missing`, `empty`, `unreachable`, `foreign`, and `new` until it has joined —
 * is never written.
 */
export function writableRoots(a: DeploymentAssessment): Set<string> {
  return new Set(a.roots.filter((r) => r.status === "online").map((r) => r.url));
}

/** The live copy: newest data first, then the lower root index (discovery's rule). */
function liveCopyOrder(a: DiscoveredCollection, b: DiscoveredCollection): number {
  return b.newestMs - a.newestMs || a.index - b.index;
}

/**
 * Combines a component's discovery report with the deployment assessment: a root the assessment does not
 * find `online` takes its status (`empty`, `new`, `missing`, `foreign`, …) and contributes no collection,
 * conflict copy or ignored entry (so no staging is cleaned there); an online root whose marker recorded
 * another URL gets `moved`; the component's unconfigured roots are listed in `unconfigured`. A root the
 * assessment finds online keeps what discovery found (a root that failed mid-listing stays `unreachable`).
 * Either level: a `names` report stays one (the copies of a conflict carry their sizes at every level).
 */
export function applyAssessment<D extends DiscoveryDetail = "sizes">(
  report: DiscoveryReport<D>,
  a: DeploymentAssessment,
): DiscoveryReport<D> {
  const byUrl = new Map(a.roots.filter((r) => r.component === report.component).map((r) => [r.url, r]));
  const offline = new Set<string>();
  const roots = report.roots.map((r): RootReport<D> => {
    const assessed = byUrl.get(r.url);
    if (!assessed || assessed.status === "online") {
      if (r.status !== "online") offline.add(r.url);
      return assessed?.moved && r.status === "online" ? { ...r, moved: assessed.moved } : r;
    }
    offline.add(r.url);
    return {
      ...r,
      status: assessed.status,
      collections: 0,
      files: 0,
      bytes: 0,
      error: `${assessed.reason ?? assessed.status}: ${assessed.detail}`,
    };
  });
  const copies = new Map<string, DiscoveredCollection[]>();
  for (const c of report.conflicts) copies.set(c.collection, c.copies);
  const collections: Record<string, DiscoveredCollection<D>> = {};
  const conflicts: ConflictReport[] = [];
  for (const [id, live] of Object.entries(report.collections)) {
    const conflict = copies.get(id)?.filter((c) => !offline.has(c.url));
    if (!conflict) {
      if (!offline.has(live.url)) collections[id] = live;
      continue;
    }
    // A conflict's copies are sized at every level: the newest of those still online is live.
    const best = [...conflict].sort(liveCopyOrder)[0];
    if (!best) continue;
    collections[id] = best as DiscoveredCollection<D>;
    if (conflict.length > 1)
      conflicts.push({ collection: best.collection, copies: conflict, chosen: best.url });
  }
  const ignored = report.ignored.filter((e) => !offline.has(e.url));
  const ignoredCounts = { ...report.ignoredCounts };
  for (const e of report.ignored) if (offline.has(e.url)) ignoredCounts[e.reason]--;
  return {
    ...report,
    roots,
    collections,
    conflicts,
    ignored,
    ignoredCounts,
    ...(a.deployment === undefined ? {} : { deployment: a.deployment }),
    unconfigured: a.unconfigured.filter((u) => u.component === report.component),
  };
}
