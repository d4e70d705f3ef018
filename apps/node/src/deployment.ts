import type { AssignmentService, ComponentType, FileSystem, RootState } from "@proximadb/core";
import {
  type AssessedStatus,
  type ConfiguredRoot,
  type DeploymentAssessment,
  type DiscoveryEvent,
  type DiscoveryDetail,
  type DiscoveryReport,
  applyAssessment,
  assertServable,
  assessRoots,
  prepareDeployment,
} from "@proximadb/discovery";
import type { RootAccess } from "@proximadb/engine";
import type { Logger } from "pino";
import type { NodeConfig } from "./config.js";
import { describe } from "./errors.js";
import type { OpenRoots } from "./startup.js";

/** Every configured root of every component, in configured order, for the deployment layer. */
export function configuredRoots(roots: OpenRoots): ConfiguredRoot[] {
  return [...roots.byComponent].flatMap(([component, list]) => list.map((fs) => ({ component, fs })));
}

/** The deployment as the node found it at start, after the steps that were due. */
export interface NodeDeployment {
  readonly assessment: DeploymentAssessment;
  /** Roots whose marker was written at this start (a first start, a join, a resumed initialisation). */
  readonly initialized: string[];
}

/**
 * Test hook: `PROXIMADB_TEST_PAUSE_AFTER_MARKER_WRITES=N` makes a start stop for good after the N-th
 * marker version is written (one line on stderr says so; no later write starts), so a test can kill the
 * process half-way through initialising roots. Unset in production: the file systems are used as they are.
 */
function withPauseHook(roots: ConfiguredRoot[], env: NodeJS.ProcessEnv): ConfiguredRoot[] {
  const after = Number(env.PROXIMADB_TEST_PAUSE_AFTER_MARKER_WRITES);
  if (!Number.isSafeInteger(after) || after <= 0) return roots;
  let written = 0;
  const never = () => new Promise<never>(() => undefined);
  const pause = (fs: FileSystem): FileSystem =>
    new Proxy(fs, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        if (prop !== "write") return value.bind(target);
        return async (key: string, ...rest: unknown[]) => {
          if (written >= after) return never();
          const result = await value.call(target, key, ...rest);
          if (key.startsWith("_proximadb_root.v") && ++written === after) {
            process.stderr.write(`proximadb: test hook: paused after ${written} marker writes\n`);
            return never();
          }
          return result;
        };
      },
    });
  return roots.map((r) => ({ ...r, fs: pause(r.fs) }));
}

/**
 * What a start does before discovery (see the discovery README, "What the node calls at start-up"): reads
 * every root's marker and assesses the deployment; unless `readOnly`, takes the steps that are due (a
 * first start initialises roots that are all empty and unmarked, new empty roots join, an interrupted
 * initialisation completes, markers are rewritten after a mount swap) and refuses to serve
 * (`DeploymentError`, one line) when a known root is not configured, the roots carry several deployments
 * or none can be initialised. Offline roots are never written.
 */
export async function prepareNodeDeployment(
  roots: OpenRoots,
  config: NodeConfig,
  o: { logger?: Logger; env?: NodeJS.ProcessEnv; readOnly?: boolean } = {},
): Promise<NodeDeployment> {
  const configured = configuredRoots(roots);
  const expected = config.deployment.id === undefined ? {} : { expectedDeployment: config.deployment.id };
  const before = await assessRoots(configured, expected);
  const due = before.next;
  let assessment = before;
  if (!o.readOnly && (due.init || due.upgrade || due.complete || due.join.length + due.rewrite.length > 0)) {
    const roots = withPauseHook(configured, o.env ?? process.env);
    const prepared = await prepareDeployment(roots, expected);
    assessment = prepared.assessment;
    o.logger?.info({ steps: prepared.performed, deployment: assessment.deployment }, "deployment prepared");
  }
  const initialized = assessment.roots
    .filter((r) => r.status === "online" && before.roots[r.index]?.status === "new")
    .map((r) => r.url);
  if (initialized.length > 0) o.logger?.info({ roots: initialized }, "initialised new storage roots");
  // What was found before the steps (a swap is reported although the rewrite already recorded it).
  for (const w of new Set([...before.warnings, ...assessment.warnings])) o.logger?.warn(w);
  for (const p of assessment.problems)
    o.logger?.warn({ problem: p.kind, roots: p.urls, blocking: p.blocking }, p.message);
  if (!o.readOnly) assertServable(assessment);
  return { assessment, initialized };
}

/** Each component's discovery report with the deployment's statuses folded in (offline roots hold nothing). */
export function applyToReports<D extends DiscoveryDetail = "sizes">(
  reports: Partial<Record<ComponentType, DiscoveryReport<D>>>,
  assessment: DeploymentAssessment,
): Partial<Record<ComponentType, DiscoveryReport<D>>> {
  const out: Partial<Record<ComponentType, DiscoveryReport<D>>> = {};
  for (const [component, r] of Object.entries(reports))
    out[component as ComponentType] = applyAssessment(r, assessment);
  return out;
}

/**
 * Discovery progress as the operator should read it: a root the deployment does not find online is
 * reported with the deployment's status (`new`, `empty`, `foreign`, …) and no collections.
 */
export function assessedEvents(
  assessment: DeploymentAssessment,
  onEvent: ((e: DiscoveryEvent) => void) | undefined,
): ((e: DiscoveryEvent) => void) | undefined {
  if (!onEvent) return undefined;
  const status = new Map(assessment.roots.map((r) => [r.url, r.status]));
  return (e) => {
    const s = e.type === "root-finished" ? status.get(e.url) : undefined;
    onEvent(
      s === undefined || s === "online" || e.type !== "root-finished"
        ? e
        : { ...e, status: s, collections: 0, files: 0 },
    );
  };
}

/** What the node knows of one configured root now. */
export interface RootCondition {
  readonly component: ComponentType;
  readonly url: string;
  /** The assessed status (`online`, `missing`, `empty`, `unreachable`, `foreign`, `new`). */
  readonly status: AssessedStatus;
  /** One line: what was found there (for `foreign`, the reason first). */
  readonly detail: string;
  /** May be written now: online since the node opened (and online again after a passing outage). */
  readonly writable: boolean;
}

interface Tracked {
  condition: RootCondition;
  /** Online when the node opened: its collections are loaded, so it may serve again when it is back. */
  openedOnline: boolean;
  /** Came back after being offline at open (told once: a restart serves its collections). */
  returned: boolean;
  /** Its placement state when it went offline (`cordoned` by a drain or the config), restored when it is back. */
  stateBeforeOutage: RootState | undefined;
}

const detailOf = (r: DeploymentAssessment["roots"][number]): string =>
  r.reason === undefined ? r.detail : `${r.reason}: ${r.detail}`;

/**
 * The node's view of its roots, from the deployment assessment, kept current by a periodic re-probe
 * (`[deployment] probe_interval_ms`): the {@link RootAccess} every engine checks before it writes.
 *
 * - A root online at open that goes offline while serving (unmounted, emptied, unreachable, another
 *   marker) stops being written at the next probe: its collections answer 503 `unavailable`, no new
 *   collection is placed in its component.
 * - When such a root is back (its marker fits again), it is written and served again at once: its
 *   collections were loaded at open and everything they acknowledged is on it. It gets back the placement
 *   state it had: a root cordoned by a drain or by the config stays cordoned through the outage.
 * - A root that was offline at open and comes back is only reported ("restart to serve its collections"):
 *   its collections were never loaded, and a restart recovers them (WAL replayed), so it stays unwritten.
 */
export class RootHealth implements RootAccess {
  /** The deployment's UUID, as the markers gave it at open. */
  readonly deployment: string | undefined;
  readonly #roots = new Map<string, Tracked>();
  readonly #service: AssignmentService | undefined;
  readonly #logger: Logger | undefined;
  readonly #probe: (() => Promise<DeploymentAssessment>) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    assessment: DeploymentAssessment,
    o: {
      service?: AssignmentService;
      logger?: Logger;
      /** A fresh, read-only assessment (`assessRoots`). */
      probe?: () => Promise<DeploymentAssessment>;
    } = {},
  ) {
    this.deployment = assessment.deployment;
    this.#service = o.service;
    this.#logger = o.logger;
    this.#probe = o.probe;
    for (const r of assessment.roots) {
      const online = r.status === "online";
      this.#roots.set(r.url, {
        condition: {
          component: r.component,
          url: r.url,
          status: r.status,
          detail: detailOf(r),
          writable: online,
        },
        openedOnline: online,
        returned: false,
        stateBeforeOutage: undefined,
      });
    }
  }

  /** {@link RootAccess}: why `url` may not be written now, or undefined. */
  refusal(url: string): string | undefined {
    const t = this.#roots.get(url);
    if (!t) return "unconfigured: the configuration does not name this root";
    const c = t.condition;
    if (c.writable) return undefined;
    return t.returned
      ? "back since the node started: restart the node to serve its collections"
      : `${c.status}: ${c.detail}`;
  }

  /** The condition of a configured root (undefined for a URL the configuration does not name). */
  condition(url: string): RootCondition | undefined {
    return this.#roots.get(url)?.condition;
  }

  /** Every configured root, in configured order. */
  list(): RootCondition[] {
    return [...this.#roots.values()].map((t) => t.condition);
  }

  /** The roots that may not be written now (of one component, or all). */
  offline(component?: ComponentType): RootCondition[] {
    return this.list().filter((c) => !c.writable && (component === undefined || c.component === component));
  }

  /** Re-reads every root's marker once and applies what changed (see the class comment). */
  probeOnce(): Promise<void> {
    if (!this.#probe) return Promise.resolve();
    this.#running ??= this.#probe()
      .then((a) => this.update(a))
      .catch((err) => this.#logger?.warn({ err: describe(err) }, "storage root probe failed"))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  /** Applies a fresh assessment: roots going offline stop being written; roots online at open come back. */
  update(a: DeploymentAssessment): void {
    for (const r of a.roots) {
      const t = this.#roots.get(r.url);
      if (!t) continue;
      const was = t.condition;
      const online = r.status === "online";
      const writable = online && t.openedOnline;
      t.condition = { ...was, status: r.status, detail: detailOf(r), writable };
      if (!online) t.returned = false;
      if (was.writable && !writable) {
        t.stateBeforeOutage = this.#stateOf(r.component, r.url);
        this.#service?.setRootState(r.component, r.url, "offline");
        this.#logger?.warn(
          { component: r.component, root: r.url, status: r.status, detail: t.condition.detail },
          "storage root went offline: its collections are unavailable",
        );
      } else if (!was.writable && writable) {
        // Back as it was: a cordoned root (a drain, the config) stays cordoned through an outage.
        const before = t.stateBeforeOutage;
        t.stateBeforeOutage = undefined;
        this.#service?.setRootState(r.component, r.url, before === "cordoned" ? "cordoned" : "active");
        this.#logger?.info({ component: r.component, root: r.url }, "storage root is back online");
      } else if (online && !t.openedOnline && !t.returned) {
        t.returned = true;
        this.#logger?.warn(
          { component: r.component, root: r.url },
          "storage root is back; restart the node to serve its collections",
        );
      }
    }
  }

  #stateOf(component: ComponentType, url: string): RootState | undefined {
    const stats = this.#service?.stats().find((s) => s.component === component);
    return stats?.roots.find((root) => root.url === url)?.state;
  }

  /** Starts the periodic re-probe (every `intervalMs`; 0 = never). */
  start(intervalMs: number): void {
    if (this.#timer || intervalMs <= 0 || !this.#probe) return;
    this.#timer = setInterval(() => void this.probeOnce(), intervalMs);
    this.#timer.unref();
  }

  /** Stops the re-probe and waits for one in progress. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
