import { randomUUID } from "node:crypto";
import { InvalidArgumentError } from "@proximadb/core";
import pLimit from "p-limit";
import { discover } from "../discover.js";
import type { DeploymentRootEntry, RootMarkerV2 } from "../types.js";
import { assessDeployment } from "./assess.js";
import { DeploymentError } from "./errors.js";
import { commitMarker, readRootMarkers } from "./store.js";
import type { AssessedRoot, ConfiguredRoot, DeploymentAssessment } from "./types.js";

/** Options every deployment operation takes. */
export interface DeploymentOptions {
  /** The deployment the node belongs to (config or etcd); markers of any other are `foreign`. */
  expectedDeployment?: string;
  /** Clock for `addedAt` / `updatedAt` (ms since the epoch). Default `Date.now`. */
  now?: () => number;
  /** Roots read or written at once (default 8). */
  concurrency?: number;
  signal?: AbortSignal;
}

const ATTEMPTS = 6;

/** Every operation reads and assesses afresh, so that it decides on what storage holds now. */
async function look(
  roots: readonly ConfiguredRoot[],
  options: DeploymentOptions,
  expected = options.expectedDeployment,
): Promise<DeploymentAssessment> {
  const observed = await readRootMarkers(roots, {
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return assessDeployment({
    roots: observed,
    ...(expected === undefined ? {} : { expectedDeployment: expected }),
  });
}

/**
 * Runs `op` again (it re-reads everything) when another writer won a marker version, after a short random
 * pause so that two writers do not collide again in step. `op` learns whether an earlier attempt lost.
 */
async function withRetry<T>(op: (lostBefore: boolean) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt > 1);
    } catch (err) {
      if (!(err instanceof DeploymentError && err.kind === "Conflict") || attempt >= ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

function fsByUrl(roots: readonly ConfiguredRoot[]): Map<string, ConfiguredRoot> {
  return new Map(roots.map((r) => [r.fs.root.url, r]));
}

interface WriteContext {
  deployment: string;
  name: string | undefined;
  version: number;
  entries: DeploymentRootEntry[];
  nowIso: string;
}

/**
 * Writes one version of the roots list to every target, durably. The one place markers are written:
 * it refuses any root whose status is offline (missing, empty, unreachable, foreign) — those are never
 * written, not a marker, not a folder. Targets are written in URL order, the first one alone, so two
 * writers of the same version collide on the first root before either writes anything else.
 */
async function writeVersion(
  targets: readonly AssessedRoot[],
  allowed: ReadonlySet<AssessedRoot["status"]>,
  byUrl: ReadonlyMap<string, ConfiguredRoot>,
  ctx: WriteContext,
  concurrency: number,
): Promise<void> {
  const sorted = [...targets].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  const jobs = sorted.map((r) => {
    const root = byUrl.get(r.url);
    const entry = ctx.entries.find((e) => e.uuid !== undefined && e.uuid === r.uuid);
    if (!allowed.has(r.status) || !root || !entry?.uuid)
      throw new DeploymentError(
        "RootOffline",
        `storage root ${r.url} is ${r.status}: its marker is not written`,
        {
          urls: [r.url],
        },
      );
    const marker: RootMarkerV2 = {
      format: 2,
      deployment: ctx.deployment,
      root: entry.uuid,
      component: r.component,
      url: r.url,
      version: ctx.version,
      createdAt: r.marker?.createdAt ?? ctx.nowIso,
      updatedAt: ctx.nowIso,
      roots: ctx.entries,
      ...(ctx.name === undefined ? {} : { name: ctx.name }),
    };
    return () => commitMarker(root.fs, marker);
  });
  const [first, ...rest] = jobs;
  if (first) await first();
  const limit = pLimit(concurrency);
  const results = await Promise.allSettled(rest.map((job) => limit(job)));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length > 0)
    throw failures.find((e) => e instanceof DeploymentError && e.kind === "Conflict") ?? failures[0];
}

/**
 * In `entries` (a copy of `a.entries`, same order), records where each online root is now (after a swap)
 * and the UUIDs learnt from format-1 markers.
 */
function recordWhereabouts(
  a: DeploymentAssessment,
  online: readonly AssessedRoot[],
  entries: DeploymentRootEntry[],
): void {
  for (const r of online) {
    const e = r.entry ? entries[a.entries.indexOf(r.entry)] : undefined;
    if (!e) continue;
    e.url = r.url;
    if (e.uuid === undefined && r.uuid !== undefined) e.uuid = r.uuid;
  }
}

const ONLINE = new Set<AssessedRoot["status"]>(["online"]);
const ONLINE_OR_NEW = new Set<AssessedRoot["status"]>(["online", "new"]);

function refuseBlocking(a: DeploymentAssessment): void {
  const p = a.problems.find((x) => x.blocking && x.kind !== "Unconfigured");
  if (p)
    throw new DeploymentError(p.kind === "NotInitializable" ? "NotEmpty" : "Ambiguous", p.message, {
      urls: p.urls,
    });
}

/**
 * {@link look}, {@link refuseBlocking}, then a format-2 deployment is required: the start of the operations
 * that change an existing deployment. `whenNone` is the message for roots without one.
 */
async function lookDeployed(
  roots: readonly ConfiguredRoot[],
  options: DeploymentOptions,
  whenNone: string,
): Promise<DeploymentAssessment & { deployment: string }> {
  const a = await look(roots, options);
  refuseBlocking(a);
  if (a.format !== 2 || a.deployment === undefined)
    throw new DeploymentError(
      "NotInitialized",
      a.format === 1
        ? "the roots carry the previous release's markers: upgrade them with rewriteMarkers first"
        : whenNone,
    );
  return a as DeploymentAssessment & { deployment: string };
}

/**
 * Initialises a deployment on roots that are all empty (or absent) and unmarked, in two durable phases:
 * every root gets a marker listing every root (all components) as `initializing` (version 1), then every
 * marker is rewritten with all roots `active` (version 2). Resumable: on roots left half-way by an
 * interrupted first start it completes the same deployment (keeping the UUIDs already written).
 *
 * @param options.deployment the deployment UUID to use (default: a new random UUID)
 * @returns the assessment after the writes (every root `online`)
 * @throws DeploymentError `AlreadyInitialized` (markers of an active deployment, or format-1 markers),
 *   `NotEmpty` (a root holds files or a foreign marker), `RootOffline` (a root is unreachable)
 */
export function initDeployment(
  roots: readonly ConfiguredRoot[],
  options: DeploymentOptions & { deployment?: string } = {},
): Promise<DeploymentAssessment> {
  return withRetry(async (lostBefore) => {
    if (roots.length === 0) throw new InvalidArgumentError("initDeployment needs at least one root");
    const a = await look(roots, options, undefined);
    if (a.format === 2 && a.deployment !== undefined) {
      if (a.next.complete) return joinNow(roots, a, [], options);
      // Another node initialised these roots while we tried: that is the deployment.
      if (lostBefore && a.roots.every((r) => r.status === "online")) return a;
      throw new DeploymentError(
        "AlreadyInitialized",
        `the roots already belong to deployment ${a.deployment}`,
        {
          urls: a.roots.filter((r) => r.status === "online").map((r) => r.url),
        },
      );
    }
    if (a.format === 1)
      throw new DeploymentError(
        "AlreadyInitialized",
        "the roots carry the previous release's markers: upgrade them with rewriteMarkers",
        { urls: a.roots.filter((r) => r.marker?.format === 1).map((r) => r.url) },
      );
    const bad = a.roots.filter((r) => r.status !== "new");
    if (bad.length > 0) {
      const unreachable = bad.filter((r) => r.status === "unreachable");
      throw new DeploymentError(
        unreachable.length > 0 ? "RootOffline" : "NotEmpty",
        `a deployment is initialised only on roots that are all empty and unmarked: ${bad.map((r) => `${r.url} is ${r.status}${r.reason ? ` (${r.reason})` : ""}`).join("; ")}`,
        { urls: bad.map((r) => r.url) },
      );
    }
    refuseBlocking(a);
    const nowIso = new Date((options.now ?? Date.now)()).toISOString();
    const deployment = options.deployment ?? randomUUID();
    const entries: DeploymentRootEntry[] = a.roots.map((r) => ({
      uuid: randomUUID(),
      url: r.url,
      component: r.component,
      state: "initializing",
      addedAt: nowIso,
    }));
    const targets = a.roots.map((r, i) => ({ ...r, uuid: entries[i]?.uuid as string }));
    const byUrl = fsByUrl(roots);
    const concurrency = options.concurrency ?? 8;
    const ctx = { deployment, name: undefined, nowIso };
    await writeVersion(targets, ONLINE_OR_NEW, byUrl, { ...ctx, version: 1, entries }, concurrency);
    const active = entries.map((e) => ({ ...e, state: "active" as const }));
    await writeVersion(targets, ONLINE_OR_NEW, byUrl, { ...ctx, version: 2, entries: active }, concurrency);
    return look(roots, options);
  });
}

/** Phase 1 (new roots `initializing`) and phase 2 (`active`) over every online and joining root. */
async function joinNow(
  roots: readonly ConfiguredRoot[],
  a: DeploymentAssessment,
  fresh: readonly AssessedRoot[],
  options: DeploymentOptions,
): Promise<DeploymentAssessment> {
  const deployment = a.deployment as string;
  const nowIso = new Date((options.now ?? Date.now)()).toISOString();
  const entries = a.entries.map((e) => ({ ...e }));
  const joining: AssessedRoot[] = [];
  for (const r of a.roots) {
    if (r.status !== "new") continue;
    if (r.entry?.state === "initializing") joining.push(r);
    else if (fresh.includes(r)) {
      const uuid = randomUUID();
      entries.push({ uuid, url: r.url, component: r.component, state: "initializing", addedAt: nowIso });
      joining.push({ ...r, uuid });
    }
  }
  const online = a.roots.filter((r) => r.status === "online");
  const targets = [...online, ...joining];
  recordWhereabouts(a, online, entries);
  const byUrl = fsByUrl(roots);
  const concurrency = options.concurrency ?? 8;
  const ctx = { deployment, name: a.name, nowIso };
  await writeVersion(targets, ONLINE_OR_NEW, byUrl, { ...ctx, version: a.version + 1, entries }, concurrency);
  // Only roots that now carry their marker become active; one still offline stays `initializing`.
  const abandoned = new Set(a.abandoned.map((e) => e.uuid));
  const written = new Set(joining.map((r) => r.uuid));
  const settled = entries.map((e): DeploymentRootEntry => {
    if (e.state !== "initializing") return e;
    if (abandoned.has(e.uuid)) return { ...e, state: "retired", retiredAt: nowIso };
    return written.has(e.uuid) ? { ...e, state: "active" } : e;
  });
  await writeVersion(
    targets,
    ONLINE_OR_NEW,
    byUrl,
    { ...ctx, version: a.version + 2, entries: settled },
    concurrency,
  );
  return look(roots, options);
}

/**
 * Adds configured roots that no marker knows to the deployment, and completes an interrupted
 * initialisation or join, in two durable phases (new roots `initializing` in every marker, then `active`).
 * Each joining root must be `new`: absent or empty and unmarked. A root that is already online is skipped.
 *
 * Refuses while a known root is offline (missing, empty, unreachable, foreign, or unconfigured): that root
 * may hold a newer roots list, and would not learn of the new root. `allowOffline` overrides this for an
 * operator who knows the offline root is gone for good.
 *
 * @param urls the roots to join (default: every `new` root); each must be among `roots`
 * @throws DeploymentError `NotInitialized` (no format-2 deployment), `NotEmpty` (a root to join is not new),
 *   `RootOffline` (a known root is offline)
 */
export function joinRoots(
  roots: readonly ConfiguredRoot[],
  urls?: readonly string[],
  options: DeploymentOptions & { allowOffline?: boolean } = {},
): Promise<DeploymentAssessment> {
  return withRetry(async () => {
    const a = await lookDeployed(roots, options, "the roots carry no deployment: initialise it first");
    const wanted = urls ?? a.roots.filter((r) => r.status === "new").map((r) => r.url);
    const fresh: AssessedRoot[] = [];
    for (const url of wanted) {
      const r = a.roots.find((x) => x.url === url);
      if (!r) throw new InvalidArgumentError(`storage root ${url} is not among the configured roots`);
      if (r.status === "online") continue;
      if (r.status !== "new")
        throw new DeploymentError(
          "NotEmpty",
          `storage root ${url} is ${r.status}: only a new, empty root joins`,
          {
            urls: [url],
          },
        );
      if (r.entry === undefined) fresh.push(r);
    }
    const pending =
      fresh.length > 0 || a.next.complete || a.problems.some((p) => p.kind === "CompleteBlocked");
    if (!pending) return a;
    const blocked = a.problems.find((p) => p.kind === "JoinBlocked" || p.kind === "CompleteBlocked");
    if (blocked && !options.allowOffline) {
      const offline = [
        ...a.roots.filter((r) => r.entry?.state === "active" && r.status !== "online").map((r) => r.url),
        ...a.unconfigured.map((u) => u.url),
      ];
      throw new DeploymentError("RootOffline", blocked.message, {
        urls: offline.length > 0 ? offline : blocked.urls,
      });
    }
    return joinNow(roots, a, fresh, options);
  });
}

/**
 * Rewrites the markers of every online root with the current picture, in one durable version: the URLs
 * roots are found at now (after a mount swap), stale lists of roots that were offline during a rewrite,
 * and UUIDs learnt from format-1 markers. On roots carrying only the previous release's markers (format 1)
 * it is the upgrade: the roots are adopted into a deployment UUID (`expectedDeployment`, or a new one),
 * keeping their root UUIDs; format-1 siblings without a marker stay known (as `missing`/`empty`).
 * Offline roots are never written. A no-op when nothing is stale.
 *
 * @throws DeploymentError `NotInitialized` (no marker at all), `RootOffline` (an upgrade while a configured
 *   root is unreachable), `Ambiguous`
 */
export function rewriteMarkers(
  roots: readonly ConfiguredRoot[],
  options: DeploymentOptions = {},
): Promise<DeploymentAssessment> {
  return withRetry(async () => {
    const a = await look(roots, options);
    refuseBlocking(a);
    if (a.format === 0)
      throw new DeploymentError("NotInitialized", "the roots carry no deployment: nothing to rewrite");
    const nowIso = new Date((options.now ?? Date.now)()).toISOString();
    const online = a.roots.filter((r) => r.status === "online");
    let deployment: string;
    let version: number;
    if (a.format === 1) {
      if (!a.next.upgrade) {
        const unreachable = a.roots.filter((r) => r.status === "unreachable").map((r) => r.url);
        throw new DeploymentError(
          "RootOffline",
          `format-1 markers are upgraded once every configured root is reachable: ${unreachable.join(", ")} is not`,
          { urls: unreachable },
        );
      }
      deployment = options.expectedDeployment ?? randomUUID();
      version = 1;
    } else {
      if (a.next.rewrite.length === 0) return a;
      deployment = a.deployment as string;
      version = a.version + 1;
    }
    const entries = a.entries.map((e) => ({ ...e }));
    recordWhereabouts(a, online, entries);
    await writeVersion(
      online,
      ONLINE,
      fsByUrl(roots),
      { deployment, name: a.name, version, entries, nowIso },
      options.concurrency ?? 8,
    );
    return look(roots, options, a.format === 1 ? (options.expectedDeployment ?? deployment) : undefined);
  });
}

/**
 * Retires a root: every online marker records it as `retired` (one durable version), so the deployment
 * stops expecting it — `unconfigured` no longer blocks `serve`, and the root, should it come back, is
 * `foreign` (`Retired`). Refuses while the root holds collections, unless `force`:
 * `collections(entry)` tells how many it holds; without it, a configured online root is counted by listing
 * it, and a root that cannot be listed counts as holding collections.
 *
 * @param root the root's URL (as the deployment recorded it) or UUID
 * @throws DeploymentError `NotInitialized`, `UnknownRoot`, `HoldsCollections`, `RootOffline` (no online root
 *   to record the retirement in)
 */
export function retireRoot(
  roots: readonly ConfiguredRoot[],
  root: string,
  options: DeploymentOptions & {
    force?: boolean;
    /** How many collections the root holds; `undefined` when it cannot tell (then only `force` retires). */
    collections?: (entry: DeploymentRootEntry) => number | undefined | Promise<number | undefined>;
  } = {},
): Promise<DeploymentAssessment> {
  return withRetry(async () => {
    const a = await lookDeployed(roots, options, "the roots carry no deployment");
    const matches = a.entries.filter((e) => e.uuid === root || e.url === root);
    const entry = matches.find((e) => e.state !== "retired");
    if (!entry) {
      if (matches.length > 0) return a;
      throw new DeploymentError("UnknownRoot", `the deployment lists no root ${root}`, { urls: [root] });
    }
    let count: number | undefined;
    const here = a.roots.find(
      (r) => r.entry === entry || (entry.uuid !== undefined && r.uuid === entry.uuid),
    );
    if (options.collections) count = await options.collections(entry);
    else if (here?.status === "online") {
      const fs = fsByUrl(roots).get(here.url)?.fs;
      if (fs)
        count = Object.keys((await discover({ component: here.component, roots: [fs] })).collections).length;
    }
    if ((count === undefined || count > 0) && !options.force)
      throw new DeploymentError(
        "HoldsCollections",
        count === undefined
          ? `cannot tell whether storage root ${entry.url} holds collections (it is not online): retire it with force if its data is gone`
          : `storage root ${entry.url} holds ${count} collection(s): move them first, or retire it with force`,
        { urls: [entry.url], ...(count === undefined ? {} : { collections: count }) },
      );
    const online = a.roots.filter((r) => r.status === "online");
    if (online.length === 0)
      throw new DeploymentError("RootOffline", "no root is online to record the retirement in", {
        urls: [entry.url],
      });
    const nowIso = new Date((options.now ?? Date.now)()).toISOString();
    const entries = a.entries.map((e) =>
      e === entry ? { ...e, state: "retired" as const, retiredAt: nowIso } : { ...e },
    );
    await writeVersion(
      online,
      ONLINE,
      fsByUrl(roots),
      { deployment: a.deployment, name: a.name, version: a.version + 1, entries, nowIso },
      options.concurrency ?? 8,
    );
    return look(roots, options);
  });
}

/**
 * Reads every configured root's marker and assesses the deployment: {@link readRootMarkers} then
 * {@link assessDeployment}. Read-only (what `proximadb discover` uses).
 */
export function assessRoots(
  roots: readonly ConfiguredRoot[],
  options: DeploymentOptions = {},
): Promise<DeploymentAssessment> {
  return look(roots, options);
}
