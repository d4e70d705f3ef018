import { InvalidArgumentError, isComponentType } from "@proximadb/core";
import type { ForeignRootKind } from "../marker.js";
import type {
  DeploymentRootEntry,
  RootMarker,
  RootMarkerV1,
  RootMarkerV2,
  UnconfiguredRoot,
} from "../types.js";
import type {
  AssessedRoot,
  AssessInput,
  DeploymentAssessment,
  DeploymentNextSteps,
  DeploymentProblem,
  DeploymentProblemKind,
  ObservedRoot,
} from "./types.js";

const PROBE_STATES = new Set(["absent", "empty", "data", "exists", "unreachable"]);

/** The value with the most votes; `undefined` on a tie for the first place. */
function majority<T>(votes: readonly T[]): { winner: T | undefined; tie: boolean } {
  const counts = new Map<T, number>();
  for (const v of votes) counts.set(v, (counts.get(v) ?? 0) + 1);
  let winner: T | undefined;
  let best = 0;
  let tie = false;
  for (const [v, n] of counts) {
    if (n > best) {
      winner = v;
      best = n;
      tie = false;
    } else if (n === best) tie = true;
  }
  return tie ? { winner: undefined, tie: true } : { winner, tie: false };
}

function validate(input: AssessInput): void {
  const seen = new Set<string>();
  for (const o of input.roots) {
    if (!isComponentType(o.component))
      throw new InvalidArgumentError(`unknown component ${JSON.stringify(o.component)}`);
    if (!PROBE_STATES.has(o.probe))
      throw new InvalidArgumentError(`unknown probe state ${JSON.stringify(o.probe)} for ${o.url}`);
    if (seen.has(o.url)) throw new InvalidArgumentError(`storage root ${o.url} is configured more than once`);
    seen.add(o.url);
  }
}

/** The deployment's roots list, as the previous release's markers imply it (format 1). */
function entriesFromV1(observed: readonly ObservedRoot[], name: string | undefined): DeploymentRootEntry[] {
  const entries: DeploymentRootEntry[] = [];
  const urls = new Set<string>();
  const v1 = observed.filter(
    (o): o is ObservedRoot & { marker: RootMarkerV1 } =>
      o.marker?.format === 1 && o.marker.deployment === name && o.marker.component === o.component,
  );
  for (const o of v1) {
    entries.push({
      uuid: o.marker.uuid,
      url: o.url,
      component: o.marker.component,
      state: "active",
      addedAt: o.marker.createdAt,
    });
    urls.add(o.url);
  }
  // A sibling a format-1 marker lists is known even without its own marker (its UUID is not).
  for (const o of v1) {
    for (const s of o.marker.siblings ?? []) {
      if (urls.has(s)) continue;
      urls.add(s);
      entries.push({ url: s, component: o.marker.component, state: "active", addedAt: o.marker.createdAt });
    }
  }
  return entries;
}

interface Chosen {
  deployment: string | undefined;
  format: 0 | 1 | 2;
  version: number;
  entries: DeploymentRootEntry[];
  name?: string;
  problems: DeploymentProblem[];
}

/** Which deployment the configured roots belong to, and its newest roots list. */
function chooseDeployment(input: AssessInput): Chosen {
  const observed = input.roots;
  const v2 = observed.filter(
    (o): o is ObservedRoot & { marker: RootMarkerV2 } => o.marker?.format === 2 && !o.markerInvalid,
  );
  const v1 = observed.filter((o) => o.marker?.format === 1 && !o.markerInvalid);
  const expected = input.expectedDeployment;
  const problems: DeploymentProblem[] = [];
  /** Only the previous release's markers: their roots, under the name most of them carry. */
  const formatOne = () => {
    const { winner } = majority(v1.map((o) => (o.marker as RootMarkerV1).deployment));
    return {
      deployment: undefined,
      format: 1 as const,
      version: 0,
      entries: entriesFromV1(observed, winner),
      ...(winner === undefined ? {} : { name: winner }),
      problems,
    };
  };
  let deployment: string | undefined;
  if (expected !== undefined && v2.some((o) => o.marker.deployment === expected)) deployment = expected;
  else if (expected !== undefined) {
    if (v1.length > 0 && v2.length === 0) {
      // The previous release's markers carry no UUID: the upgrade adopts them into the expected one.
      return formatOne();
    }
    problems.push({
      kind: "DeploymentNotFound",
      blocking: true,
      urls: observed.map((o) => o.url),
      message: `no configured root carries deployment ${expected}; check the configured roots (a disk may be unmounted) or initialise explicitly with \`proximadb init\``,
    });
    return {
      deployment: undefined,
      format: v2.length > 0 ? 2 : v1.length > 0 ? 1 : 0,
      version: 0,
      entries: [],
      problems,
    };
  } else if (v2.length > 0) {
    const { winner, tie } = majority(v2.map((o) => o.marker.deployment));
    if (tie) {
      problems.push({
        kind: "Ambiguous",
        blocking: true,
        urls: v2.map((o) => o.url),
        message: `the roots carry markers of ${new Set(v2.map((o) => o.marker.deployment)).size} deployments and none has a majority: name the deployment in the configuration`,
      });
      return { deployment: undefined, format: 2, version: 0, entries: [], problems };
    }
    deployment = winner;
  } else if (v1.length > 0) {
    return formatOne();
  } else return { deployment: undefined, format: 0, version: 0, entries: [], problems };

  // The highest version of the deployment's roots list wins (ties: the first configured root's copy).
  let newest: RootMarkerV2 | undefined;
  for (const o of v2)
    if (o.marker.deployment === deployment && (!newest || o.marker.version > newest.version))
      newest = o.marker;
  const m = newest as RootMarkerV2;
  return {
    deployment,
    format: 2,
    version: m.version,
    entries: m.roots.map((e) => ({ ...e })),
    ...(m.name === undefined ? {} : { name: m.name }),
    problems,
  };
}

const foreign = (
  base: Omit<AssessedRoot, "status" | "detail">,
  reason: ForeignRootKind,
  detail: string,
): AssessedRoot => ({ ...base, status: "foreign", reason, detail });

/**
 * Decides, from what one look at every configured root found (see {@link readRootMarkers}), which
 * deployment the roots belong to and what each root is. Pure: no I/O, the same input gives the same output.
 *
 * Rules (see the package README, "Operating roots"): the deployment with the most markers wins (or
 * `expectedDeployment`); the highest marker `version` of it gives the roots list; a root whose marker fits
 * is `online` (with `moved` when the list recorded another URL); a root the list knows without a marker is
 * `missing` (absent) or `empty` (an unmounted mount point); a configured root nobody knows that is empty or
 * absent is `new`; a root of another deployment, component or identity, or holding files without a marker,
 * is `foreign`; a known active root the configuration does not name is `unconfigured`; `retired` roots are
 * ignored. A deployment is initialised only when every configured root is new and no marker exists.
 *
 * @throws InvalidArgumentError when a URL is configured twice, or a component or probe state is unknown.
 */
export function assessDeployment(input: AssessInput): DeploymentAssessment {
  validate(input);
  const observed = input.roots;
  const chosen = chooseDeployment(input);
  const { deployment, format, version, entries } = chosen;
  const problems = [...chosen.problems];
  const warnings: string[] = [];
  const configuredUrls = new Set(observed.map((o) => o.url));
  const byUuid = new Map<string, DeploymentRootEntry>();
  for (const e of entries) if (e.uuid !== undefined) byUuid.set(e.uuid, e);

  /** The entry a marker names: by UUID, or a format-1 sibling known only by URL. */
  const entryOf = (o: ObservedRoot, m: RootMarker): DeploymentRootEntry | undefined => {
    const uuid = m.format === 1 ? m.uuid : m.root;
    return (
      byUuid.get(uuid) ??
      (m.format === 1
        ? entries.find((e) => e.uuid === undefined && e.url === o.url && e.component === m.component)
        : undefined)
    );
  };
  /** Does this marker belong to the chosen deployment at all? */
  const ofDeployment = (m: RootMarker): boolean =>
    m.format === 2 ? deployment !== undefined && m.deployment === deployment : format !== 0;

  // Which configured root holds each known identity (a copy of a root's disk carries the same UUID:
  // the one at the recorded URL wins, then the first configured).
  const holder = new Map<DeploymentRootEntry, number>();
  observed.forEach((o, i) => {
    if (o.probe === "unreachable" || o.markerInvalid || !o.marker || !ofDeployment(o.marker)) return;
    if (o.marker.component !== o.component) return;
    const e = entryOf(o, o.marker);
    if (!e) return;
    const prev = holder.get(e);
    if (prev === undefined || (o.url === e.url && observed[prev]?.url !== e.url)) holder.set(e, i);
  });
  const held = new Set(holder.keys());

  const roots: AssessedRoot[] = observed.map((o, index) => {
    const base: Omit<AssessedRoot, "status" | "detail"> = {
      component: o.component,
      url: o.url,
      index,
      ...(o.marker ? { marker: o.marker } : {}),
    };
    // A known root without its own marker: the entry recorded at this URL whose identity is nowhere else.
    const atUrl = entries.find((e) => e.url === o.url && e.state !== "retired" && !held.has(e));
    const withEntry = (e: DeploymentRootEntry | undefined) =>
      e ? { ...(e.uuid === undefined ? {} : { uuid: e.uuid }), entry: e } : {};
    if (o.probe === "unreachable")
      return {
        ...base,
        ...withEntry(atUrl),
        status: "unreachable",
        detail: o.error ?? "the root could not be probed or its marker read",
      };
    if (o.markerInvalid) return foreign(base, "Invalid", "its marker cannot be parsed");
    const m = o.marker;
    if (m) {
      const uuid = m.format === 1 ? m.uuid : m.root;
      const mine = { ...base, uuid };
      if (m.format === 2 && !ofDeployment(m))
        return foreign(mine, "Deployment", `its marker belongs to deployment ${m.deployment}`);
      if (m.format === 1 && format === 1 && m.deployment !== chosen.name)
        return foreign(
          mine,
          "Deployment",
          `its format-1 marker names deployment ${m.deployment ?? "(none)"}`,
        );
      if (m.component !== o.component)
        return foreign(
          mine,
          "Component",
          `its marker says component ${m.component}, configured as ${o.component}`,
        );
      const e = entryOf(o, m);
      if (!e) return foreign(mine, "Unlisted", `the deployment does not list root ${uuid}`);
      if (e.state === "retired") return foreign({ ...mine, entry: e }, "Retired", `root ${uuid} was retired`);
      if (holder.get(e) !== index)
        return foreign(
          { ...mine, entry: e },
          "Uuid",
          `another configured root carries the same identity ${uuid}`,
        );
      if (e.component !== o.component)
        return foreign(
          { ...mine, entry: e },
          "Component",
          `the deployment lists root ${uuid} as ${e.component}`,
        );
      const identified = { ...mine, entry: e };
      if (e.state === "initializing")
        return { ...identified, status: "new", detail: "initialisation was interrupted: it resumes" };
      const from = format === 1 ? (m.url !== o.url ? m.url : undefined) : e.url !== o.url ? e.url : undefined;
      const stale = m.format === 1 || m.version < version || e.uuid === undefined;
      return {
        ...identified,
        status: "online",
        detail:
          from === undefined ? "its marker fits" : `its marker fits; the deployment recorded it at ${from}`,
        ...(from === undefined ? {} : { moved: { from } }),
        ...(stale ? { stale: true } : {}),
      };
    }
    const hasFiles = o.probe === "data" || o.probe === "exists";
    if (atUrl) {
      const known = { ...base, ...withEntry(atUrl) };
      if (atUrl.component !== o.component)
        return foreign(known, "Component", `the deployment knows this URL as a ${atUrl.component} root`);
      if (hasFiles)
        return foreign(
          known,
          "UnmarkedData",
          "it holds files but not the marker the deployment expects there",
        );
      if (atUrl.state === "initializing")
        return { ...known, status: "new", detail: "initialisation was interrupted: it resumes" };
      return o.probe === "absent"
        ? { ...known, status: "missing", detail: "the deployment knows this root but it does not exist" }
        : {
            ...known,
            status: "empty",
            detail: "the deployment knows this root but it is empty and unmarked (an unmounted disk?)",
          };
    }
    if (hasFiles) return foreign(base, "UnmarkedData", "it holds files but no marker");
    return {
      ...base,
      status: "new",
      detail:
        o.probe === "absent"
          ? "no marker knows it and it does not exist"
          : "no marker knows it and it is empty",
    };
  });

  // Known roots found nowhere: not configured (unconfigured / abandoned), or displaced by another root.
  const claimed = new Set(roots.flatMap((r) => (r.entry ? [r.entry] : [])));
  const unconfigured: UnconfiguredRoot[] = [];
  const abandoned: DeploymentRootEntry[] = [];
  const displaced: DeploymentRootEntry[] = [];
  for (const e of entries) {
    if (e.state === "retired" || claimed.has(e) || held.has(e)) continue;
    if (configuredUrls.has(e.url)) displaced.push(e);
    else if (e.state === "initializing") abandoned.push(e);
    else
      unconfigured.push({
        url: e.url,
        component: e.component,
        ...(e.uuid === undefined ? {} : { uuid: e.uuid }),
        status: "unconfigured",
      });
  }

  const offline = roots.filter((r) => r.status !== "online" && r.status !== "new");
  const knownOffline = [
    ...roots.filter((r) => r.entry?.state === "active" && r.status !== "online").map((r) => r.url),
    ...displaced.filter((e) => e.state === "active").map((e) => e.url),
    ...unconfigured.map((u) => u.url),
  ];
  const blocking = problems.some((p) => p.blocking);
  const next: DeploymentNextSteps = { init: false, complete: false, upgrade: false, join: [], rewrite: [] };
  /** A next step that must wait (not blocking): `kind` says which, `urls` are the roots it waits for. */
  const postpone = (kind: DeploymentProblemKind, urls: string[], message: string) =>
    problems.push({ kind, blocking: false, urls, message });

  if (unconfigured.length > 0) {
    problems.push({
      kind: "Unconfigured",
      blocking: true,
      urls: unconfigured.map((u) => u.url),
      message: `storage roots ${unconfigured.map((u) => `${u.url} (${u.component})`).join(", ")} belong to the deployment but are not configured: add them back to the configuration, or retire them with \`proximadb roots retire <url>\``,
    });
  }
  if (format === 0 && !blocking) {
    if (roots.every((r) => r.status === "new")) next.init = roots.length > 0;
    else
      problems.push({
        kind: "NotInitializable",
        blocking: true,
        urls: offline.map((r) => r.url),
        message: `no deployment is initialised and not every configured root is empty: ${offline.map((r) => `${r.url} is ${r.status}${r.reason ? ` (${r.reason})` : ""}`).join("; ")}`,
      });
  }
  if (format === 1 && !blocking) {
    const unreachable = roots.filter((r) => r.status === "unreachable").map((r) => r.url);
    if (unreachable.length === 0) next.upgrade = true;
    else
      postpone(
        "UpgradeBlocked",
        unreachable,
        `the previous release's markers are upgraded once every configured root is reachable: ${unreachable.join(", ")} is not`,
      );
  }
  if (format === 2 && deployment !== undefined && !blocking) {
    const resuming = roots.filter((r) => r.status === "new" && r.entry?.state === "initializing");
    const stuck = roots.filter((r) => r.entry?.state === "initializing" && r.status !== "new");
    if (resuming.length > 0 || abandoned.length > 0) {
      if (stuck.length === 0 && knownOffline.length === 0) next.complete = true;
      else {
        const waitingFor = [...stuck.map((r) => r.url), ...knownOffline];
        postpone(
          "CompleteBlocked",
          waitingFor,
          `an interrupted initialisation resumes once these roots are back: ${waitingFor.join(", ")}`,
        );
      }
    }
    const fresh = roots.filter((r) => r.status === "new" && r.entry === undefined).map((r) => r.url);
    if (fresh.length > 0) {
      if (knownOffline.length === 0) next.join = fresh;
      else
        postpone(
          "JoinBlocked",
          fresh,
          `new roots ${fresh.join(", ")} join once every known root is online (${knownOffline.join(", ")} is not): an offline root may hold a newer roots list`,
        );
    }
    next.rewrite = roots.filter((r) => r.status === "online" && (r.stale || r.moved)).map((r) => r.url);
  }

  for (const r of roots) {
    if (r.moved)
      warnings.push(
        `root ${r.uuid} (${r.component}) was recorded at ${r.moved.from} and is now at ${r.url}: a mount swap? its collections follow the disk`,
      );
  }
  for (const e of displaced)
    warnings.push(
      `root ${e.uuid ?? "(format 1)"} (${e.component}) recorded at ${e.url} is not found: another root or nothing holds that place now`,
    );
  for (const e of abandoned)
    warnings.push(
      `root ${e.uuid} (${e.component}) at ${e.url} was being initialised and is no longer configured: it is retired when the initialisation completes`,
    );
  if (format === 1)
    warnings.push("the roots carry the previous release's markers (format 1): they are upgraded to format 2");

  return {
    deployment,
    format,
    version,
    entries,
    roots,
    unconfigured,
    abandoned,
    ...(chosen.name === undefined ? {} : { name: chosen.name }),
    next,
    problems,
    warnings,
  };
}
