import { randomUUID } from "node:crypto";
import {
  type ComponentType,
  ROOT_MARKER_FILE as CORE_ROOT_MARKER_FILE,
  type FileSystem,
  isComponentType,
  isFsError,
  ProximaError,
  readIfPresent,
} from "@proximadb/core";
import type { DeploymentRootEntry, RootMarker, RootMarkerV1, RootMarkerV2 } from "./types.js";

/** Name of the identity marker at the top of every root (re-exported from core). */
export const ROOT_MARKER_FILE: typeof CORE_ROOT_MARKER_FILE = CORE_ROOT_MARKER_FILE;

/** Why a root's marker does not fit the caller (the format-1 vocabulary; see {@link ForeignRootKind}). */
export type ForeignRootReason = "invalid" | "component" | "deployment" | "uuid";

/**
 * Why a root is foreign:
 * - `Invalid`: its marker cannot be parsed;
 * - `Component`: its marker names another component;
 * - `Deployment`: its marker belongs to another deployment;
 * - `Uuid`: it carries another root identity than expected (re-created, or a copy of another root);
 * - `Unlisted`: its marker is of this deployment but the deployment does not list its root UUID;
 * - `Retired`: the deployment retired this root;
 * - `UnmarkedData`: it holds files but no marker (never initialised by this deployment).
 */
export type ForeignRootKind =
  | "Invalid"
  | "Component"
  | "Deployment"
  | "Uuid"
  | "Unlisted"
  | "Retired"
  | "UnmarkedData";

const KIND_OF_REASON: Record<ForeignRootReason, ForeignRootKind> = {
  invalid: "Invalid",
  component: "Component",
  deployment: "Deployment",
  uuid: "Uuid",
};
const REASON_OF_KIND: Record<ForeignRootKind, ForeignRootReason> = {
  Invalid: "invalid",
  Component: "component",
  Deployment: "deployment",
  Uuid: "uuid",
  Unlisted: "uuid",
  Retired: "uuid",
  UnmarkedData: "invalid",
};

/**
 * The root belongs to something else (another component, deployment or root identity), or its marker
 * cannot be parsed. Branch on {@link ForeignRootError.kind} (or the older {@link ForeignRootError.reason}).
 *
 * Code `FOREIGN_ROOT`: the root cannot be used until an operator decides.
 */
export class ForeignRootError extends ProximaError {
  readonly url: string;
  /** PascalCase kind (the shared error vocabulary). */
  readonly kind: ForeignRootKind;
  /** @deprecated Format-1 vocabulary, kept for callers that branch on it; use {@link kind}. */
  readonly reason: ForeignRootReason;
  constructor(url: string, kind: ForeignRootKind | ForeignRootReason, detail: string) {
    const k = kind in KIND_OF_REASON ? KIND_OF_REASON[kind as ForeignRootReason] : (kind as ForeignRootKind);
    super("FOREIGN_ROOT", `storage root ${url} is foreign (${REASON_OF_KIND[k]}): ${detail}`);
    this.url = url;
    this.kind = k;
    this.reason = REASON_OF_KIND[k];
  }
}

const decoder = new TextDecoder();

const isString = (v: unknown): v is string => typeof v === "string";
const isUuidLike = (v: unknown): v is string => typeof v === "string" && v !== "" && v.length <= 200;
const ENTRY_STATES = new Set(["initializing", "active", "retired"]);

/** A check of one field's value. */
type FieldCheck = (value: unknown) => boolean;
/** One check per field of `T`, optional fields included: a field the type gains and the checks miss does not compile. */
type FieldChecks<T> = { readonly [K in keyof T]-?: FieldCheck };

/** A field that may be absent: `check` applies when it is present. */
const optional =
  (check: FieldCheck): FieldCheck =>
  (v) =>
    v === undefined || check(v);
/** An array whose every item passes `check`. */
const listOf =
  (check: FieldCheck): FieldCheck =>
  (v) =>
    Array.isArray(v) && v.every(check);

/** `value` is an object each of whose fields passes its check in `checks`. */
function hasFields<T>(value: unknown, checks: FieldChecks<T>): value is T {
  if (value === null || typeof value !== "object") return false;
  const fields = value as Record<string, unknown>;
  return Object.entries<FieldCheck>(checks).every(([name, check]) => check(fields[name]));
}

const ENTRY_FIELDS: FieldChecks<DeploymentRootEntry> = {
  uuid: optional(isUuidLike),
  url: isString,
  component: isComponentType,
  state: (v) => typeof v === "string" && ENTRY_STATES.has(v),
  addedAt: isString,
  retiredAt: optional(isString),
};

/** The fields both marker formats have, with the same meaning. */
const COMMON_FIELDS: FieldChecks<Pick<RootMarker, "component" | "url" | "createdAt">> = {
  component: isComponentType,
  url: isString,
  createdAt: isString,
};

const V1_FIELDS: FieldChecks<RootMarkerV1> = {
  format: (v) => v === 1,
  uuid: isUuidLike,
  ...COMMON_FIELDS,
  deployment: optional(isString),
  siblings: optional(listOf(isString)),
};

const V2_FIELDS: FieldChecks<RootMarkerV2> = {
  format: (v) => v === 2,
  deployment: isUuidLike,
  root: isUuidLike,
  ...COMMON_FIELDS,
  version: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
  updatedAt: isString,
  roots: listOf((e) => hasFields(e, ENTRY_FIELDS)),
  name: optional(isString),
};

/**
 * Validates a marker's text as a {@link RootMarker} of format 1 or 2; throws {@link ForeignRootError}
 * (`Invalid`) otherwise.
 */
export function parseRootMarker(url: string, text: string): RootMarker {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ForeignRootError(url, "Invalid", `${ROOT_MARKER_FILE} is not valid JSON`);
  }
  if (hasFields(value, V1_FIELDS) || hasFields(value, V2_FIELDS)) return value;
  throw new ForeignRootError(
    url,
    "Invalid",
    `${ROOT_MARKER_FILE} is not a format-1 or format-2 ProximaDB root marker`,
  );
}

/** The root's own UUID, whatever the marker's format. */
export function markerRootUuid(marker: RootMarker): string {
  return marker.format === 1 ? marker.uuid : marker.root;
}

/**
 * URLs of the roots of `component` this marker vouches for (a listed root without a marker is `missing`):
 * a format-1 marker's `siblings`, or a format-2 marker's non-retired roots of the same component.
 */
export function vouchedUrls(marker: RootMarker): string[] {
  if (marker.format === 1) return marker.siblings ?? [];
  return marker.roots
    .filter((r) => r.component === marker.component && r.state !== "retired" && r.uuid !== marker.root)
    .map((r) => r.url);
}

/**
 * Reads the root's identity marker. Resolves to `undefined` when there is none; throws
 * {@link ForeignRootError} (`invalid`) for an unparseable marker and the adapter's `FsError` otherwise.
 * Read-only.
 */
export function readRootMarker(fs: FileSystem): Promise<RootMarker | undefined> {
  return readMarkerAt(fs, ROOT_MARKER_FILE);
}

/** Reads and parses the marker file `key` of a root (the plain one or a version); `undefined` when it is gone. */
export async function readMarkerAt(fs: FileSystem, key: string): Promise<RootMarker | undefined> {
  const bytes = await readIfPresent(fs, key);
  return bytes === undefined ? undefined : parseRootMarker(fs.root.url, decoder.decode(bytes));
}

/**
 * Throws {@link ForeignRootError} unless `marker` belongs to `component` (and `deployment`, when given:
 * a format-1 marker's deployment name, a format-2 marker's deployment UUID).
 */
export function assertMarkerFits(
  url: string,
  marker: RootMarker,
  component: ComponentType,
  deployment?: string,
): void {
  if (marker.component !== component) {
    throw new ForeignRootError(
      url,
      "Component",
      `its marker says component ${marker.component}, expected ${component}`,
    );
  }
  if (deployment !== undefined && marker.deployment !== deployment) {
    throw new ForeignRootError(url, "Deployment", "its marker belongs to another deployment");
  }
}

/**
 * @deprecated The previous release's per-root marker (format 1), kept until the node initialises roots
 * through `prepareDeployment` / `initDeployment` / `joinRoots` (which write format 2, listing every root).
 * An existing marker of either format is returned as it is.
 *
 * Called by engines when they first open a root for writing: returns the existing marker, or creates
 * one by exclusive create (durable). Throws {@link ForeignRootError} when the marker belongs to another
 * component or deployment (or is unreadable).
 *
 * `siblings`: URLs of the component's other roots that already carry a marker (take them from the
 * last {@link DiscoveryReport}); discovery then reports any of them that loses its marker as `missing`.
 *
 * On backends without an enforced conditional create (s3rver), two racing writers may both "create";
 * the marker is read back after writing and the stored one is returned, so both adopt one identity.
 */
export async function ensureRootMarker(
  fs: FileSystem,
  component: ComponentType,
  options: { deployment?: string; siblings?: readonly string[] } = {},
): Promise<RootMarker> {
  const url = fs.root.url;
  const existing = await readRootMarker(fs);
  if (existing) {
    assertMarkerFits(url, existing, component, options.deployment);
    return existing;
  }
  const marker: RootMarkerV1 = {
    format: 1,
    uuid: randomUUID(),
    component,
    url,
    createdAt: new Date().toISOString(),
    ...(options.deployment === undefined ? {} : { deployment: options.deployment }),
    ...(options.siblings?.length ? { siblings: options.siblings.filter((s) => s !== url) } : {}),
  };
  try {
    await fs.write(ROOT_MARKER_FILE, `${JSON.stringify(marker, null, 2)}\n`, {
      exclusive: true,
      durable: true,
      contentType: "application/json",
    });
  } catch (err) {
    if (!isFsError(err, "AlreadyExists") && !isFsError(err, "ConditionFailed")) throw err;
  }
  const stored = await readRootMarker(fs);
  if (!stored)
    throw new ForeignRootError(url, "Invalid", `${ROOT_MARKER_FILE} vanished right after it was written`);
  assertMarkerFits(url, stored, component, options.deployment);
  return stored;
}
