import { randomUUID } from "node:crypto";
import {
  type ComponentType,
  ROOT_MARKER_FILE as CORE_ROOT_MARKER_FILE,
  type FileSystem,
  isComponentType,
  isFsError,
  ProximaError,
} from "@proximadb/core";
import type { RootMarker } from "./types.js";

/** Name of the identity marker at the top of every root (re-exported from core). */
export const ROOT_MARKER_FILE: typeof CORE_ROOT_MARKER_FILE = CORE_ROOT_MARKER_FILE;

/**
 * Why a root's marker does not fit the caller: it cannot be parsed (`InvalidMarker`), or it names another
 * component, deployment or root identity.
 */
export type ForeignRootKind = "InvalidMarker" | "OtherComponent" | "OtherDeployment" | "OtherUuid";

/**
 * The root's identity marker belongs to something else (another component, deployment or root
 * identity) or cannot be parsed. Branch on {@link ForeignRootError.kind}.
 *
 * Code `FOREIGN_ROOT`: the root cannot be used until an operator decides.
 */
export class ForeignRootError extends ProximaError {
  readonly url: string;
  readonly kind: ForeignRootKind;
  constructor(url: string, kind: ForeignRootKind, detail: string) {
    super("FOREIGN_ROOT", `storage root ${url} is foreign (${kind}): ${detail}`);
    this.url = url;
    this.kind = kind;
  }
}

const decoder = new TextDecoder();

/** Validates parsed JSON as a {@link RootMarker}; throws {@link ForeignRootError} (`InvalidMarker`). */
export function parseRootMarker(url: string, text: string): RootMarker {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ForeignRootError(url, "InvalidMarker", `${ROOT_MARKER_FILE} is not valid JSON`);
  }
  const v = value as Partial<Record<keyof RootMarker, unknown>> | null;
  const ok =
    v !== null &&
    typeof v === "object" &&
    v.format === 1 &&
    typeof v.uuid === "string" &&
    v.uuid !== "" &&
    isComponentType(v.component) &&
    typeof v.url === "string" &&
    typeof v.createdAt === "string" &&
    (v.deployment === undefined || typeof v.deployment === "string") &&
    (v.siblings === undefined ||
      (Array.isArray(v.siblings) && v.siblings.every((s) => typeof s === "string")));
  if (!ok)
    throw new ForeignRootError(
      url,
      "InvalidMarker",
      `${ROOT_MARKER_FILE} is not a format-1 ProximaDB root marker`,
    );
  return v as RootMarker;
}

/**
 * Reads the root's identity marker. Resolves to `undefined` when there is none; throws
 * {@link ForeignRootError} (`InvalidMarker`) for an unparseable marker and the adapter's `FsError` otherwise.
 * Read-only.
 */
export async function readRootMarker(fs: FileSystem): Promise<RootMarker | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.read(ROOT_MARKER_FILE);
  } catch (err) {
    if (isFsError(err, "NotFound")) return undefined;
    throw err;
  }
  return parseRootMarker(fs.root.url, decoder.decode(bytes));
}

/** Throws {@link ForeignRootError} unless `marker` belongs to `component` (and `deployment`, when given). */
export function assertMarkerFits(
  url: string,
  marker: RootMarker,
  component: ComponentType,
  deployment?: string,
): void {
  if (marker.component !== component) {
    throw new ForeignRootError(
      url,
      "OtherComponent",
      `its marker says component ${marker.component}, expected ${component}`,
    );
  }
  if (deployment !== undefined && marker.deployment !== deployment) {
    throw new ForeignRootError(url, "OtherDeployment", "its marker belongs to another deployment");
  }
}

/**
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
  const marker: RootMarker = {
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
    throw new ForeignRootError(
      url,
      "InvalidMarker",
      `${ROOT_MARKER_FILE} vanished right after it was written`,
    );
  assertMarkerFits(url, stored, component, options.deployment);
  return stored;
}
