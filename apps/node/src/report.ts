import type { AssignmentService, ComponentType } from "@proximadb/core";
import type { DeploymentAssessment, DiscoveryDetail, DiscoveryReport } from "@proximadb/discovery";

/** What `discover --json` and `stats` say of every root. */
export interface RootFigures {
  url: string;
  index: number;
  status: string;
  collections: number;
  files: number;
  bytes: number;
}

/** The {@link RootFigures} of one root of a discovery report. */
function rootFigures(x: DiscoveryReport["roots"][number]): RootFigures {
  return {
    url: x.url,
    index: x.index,
    status: x.status,
    collections: x.collections,
    files: x.files,
    bytes: x.bytes,
  };
}

/** One root in `discover --json`; `detail` (why it is not online) and `moved` only when they apply. */
export interface DiscoverJsonRoot extends RootFigures {
  detail?: string;
  moved?: { from: string };
}

/** The `discover --json` shape of one component. */
export interface DiscoverJsonComponent {
  roots: DiscoverJsonRoot[];
  collections: Record<string, { url: string; index: number; files: number; bytes: number }>;
  conflicts: { collection: string; urls: string[]; chosen: string }[];
  ignored: { path: string; reason: string }[];
  /** Roots the deployment knows as active that the configuration no longer names (`serve` refuses). */
  unconfigured: { url: string; uuid?: string }[];
}

/** The deployment part of `discover --json`. */
export interface DiscoverJsonDeployment {
  /** The deployment UUID (absent before the first start). */
  id?: string;
  /** 0: no marker yet; 1: the previous release's markers; 2: format-2 markers. */
  format: number;
  version: number;
  /** One line each, with `blocking: true` for those that make `serve` refuse to start. */
  problems: { kind: string; blocking: boolean; urls: string[]; message: string }[];
  warnings: string[];
}

/** The one JSON object `proximadb discover --json` prints. */
export function discoverJson(
  reports: Partial<Record<ComponentType, DiscoveryReport>>,
  assessment?: DeploymentAssessment,
): { components: Record<string, DiscoverJsonComponent>; deployment?: DiscoverJsonDeployment } {
  const components: Record<string, DiscoverJsonComponent> = {};
  for (const [component, r] of Object.entries(reports)) {
    components[component] = {
      roots: r.roots.map((x) => ({
        ...rootFigures(x),
        ...(x.status === "online" || x.error === undefined ? {} : { detail: x.error }),
        ...(x.moved ? { moved: x.moved } : {}),
      })),
      collections: Object.fromEntries(
        Object.entries(r.collections).map(([id, c]) => [
          id,
          { url: c.url, index: c.index, files: c.files, bytes: c.bytes },
        ]),
      ),
      conflicts: r.conflicts.map((c) => ({
        collection: c.collection,
        urls: c.copies.map((x) => x.url),
        chosen: c.chosen,
      })),
      ignored: r.ignored.map((i) => ({ path: `${i.url}/${i.key}`, reason: i.reason })),
      unconfigured: (r.unconfigured ?? []).map((u) => ({ url: u.url, ...(u.uuid ? { uuid: u.uuid } : {}) })),
    };
  }
  if (!assessment) return { components };
  const deployment: DiscoverJsonDeployment = {
    ...(assessment.deployment === undefined ? {} : { id: assessment.deployment }),
    format: assessment.format,
    version: assessment.version,
    problems: assessment.problems.map((p) => ({ ...p })),
    warnings: assessment.warnings,
  };
  return { components, deployment };
}

/**
 * True when a report has conflicts, a root that is not online, or a known root the configuration no
 * longer names (exit code 3 of `discover`).
 */
export function hasProblems(reports: Partial<Record<ComponentType, DiscoveryReport>>): boolean {
  return Object.values(reports).some(
    (r) =>
      r.conflicts.length > 0 ||
      r.roots.some((x) => x.status !== "online") ||
      (r.unconfigured?.length ?? 0) > 0,
  );
}

/** Per-root figures of `stats`. */
export type StatsRoot = RootFigures;

/** Per-component figures of `stats`: skew is max/mean collections over online roots (1 = even). */
export interface StatsComponent {
  component: string;
  collections: number;
  files: number;
  bytes: number;
  skew: number;
  roots: StatsRoot[];
}

/** Figures for `stats` from the discovery reports. */
export function statsFromReports(reports: Partial<Record<ComponentType, DiscoveryReport>>): StatsComponent[] {
  return Object.entries(reports).map(([component, r]) => {
    const roots = r.roots.map(rootFigures);
    const online = roots.filter((x) => x.status === "online");
    const total = online.reduce((n, x) => n + x.collections, 0);
    const mean = online.length > 0 ? total / online.length : 0;
    const max = Math.max(0, ...online.map((x) => x.collections));
    return {
      component,
      collections: total,
      files: roots.reduce((n, x) => n + x.files, 0),
      bytes: roots.reduce((n, x) => n + x.bytes, 0),
      skew: mean > 0 ? max / mean : 0,
      roots,
    };
  });
}

/** Human-readable byte count. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** Draws `stats` as horizontal bars (collections per root, scaled to the fullest root of the component). */
export function renderStats(stats: readonly StatsComponent[], width = 30): string {
  const lines: string[] = [];
  for (const c of stats) {
    lines.push(
      `${c.component}: ${c.collections} collections, ${c.files} files, ${formatBytes(c.bytes)}, skew ${c.skew.toFixed(2)}`,
    );
    const max = Math.max(1, ...c.roots.map((r) => r.collections));
    const urlWidth = Math.max(...c.roots.map((r) => r.url.length));
    for (const r of c.roots) {
      const filled = Math.round((r.collections / max) * width);
      const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
      const status = r.status === "online" ? "" : `  [${r.status}]`;
      lines.push(
        `  [${r.index}] ${r.url.padEnd(urlWidth)}  ${bar} ${String(r.collections).padStart(5)} coll ${String(r.files).padStart(7)} files ${formatBytes(r.bytes).padStart(10)}${status}`,
      );
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** Per component of the running node: strategy, skew and per-root figures (collections from the service,
 * files and bytes from the discovery at open; `bytesAtStart` only where that discovery read sizes). */
export function placementStats(
  service: AssignmentService,
  reports: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>,
): Record<string, unknown> {
  const components: Record<string, unknown> = {};
  for (const c of service.stats()) {
    const report = reports[c.component];
    components[c.component] = {
      strategy: c.strategy,
      total: c.total,
      skew: c.skew,
      roots: c.roots.map((r) => {
        const found = report?.roots.find((x) => x.url === r.url);
        return {
          url: r.url,
          index: r.index,
          state: r.state,
          status: found?.status,
          collections: r.collections,
          filesAtStart: found?.files ?? 0,
          // A names-level start-up (the default) read no sizes: absent rather than a made-up 0.
          ...(found === undefined || found.bytes !== undefined ? { bytesAtStart: found?.bytes ?? 0 } : {}),
          weight: r.weight,
          ...(r.capacity ? { capacity: r.capacity } : {}),
        };
      }),
    };
  }
  return components;
}

/** A lap timer: `lap(name)` records the milliseconds since the previous lap (or the start) under `name`. */
export function phaseTimer(timings: Record<string, number>): (phase: string) => void {
  let t = performance.now();
  return (name) => {
    const now = performance.now();
    timings[name] = now - t;
    t = now;
  };
}

/**
 * `GET /stats`: collections served, buffered bytes, orphans, the deployment's roots (status now) and per
 * component: strategy, skew and per-root figures (collections from the service, data from discovery).
 */
export function nodeStats(
  o: {
    readonly orphans: unknown;
    readonly health: { readonly deployment: string | undefined; list(): unknown };
    readonly service: AssignmentService;
    readonly reports: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>;
  },
  states: readonly { readonly bufferedBytes: number }[],
  dropping: unknown,
): Record<string, unknown> {
  let bufferedBytes = 0;
  for (const s of states) bufferedBytes += s.bufferedBytes;
  return {
    collections: states.length,
    bufferedBytes,
    orphans: o.orphans,
    dropping,
    deployment: { id: o.health.deployment, roots: o.health.list() },
    components: placementStats(o.service, o.reports),
  };
}
