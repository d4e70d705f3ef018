import { type FileSystem, FsError, isFsError, ProximaError, ROOT_MARKER_FILE } from "@proximadb/core";
import pLimit from "p-limit";
import { ForeignRootError, readMarkerAt } from "../marker.js";
import type { RootMarker, RootMarkerV2 } from "../types.js";
import { DeploymentError } from "./errors.js";
import { isMarkerKey, MARKER_PREFIX, markerVersionKey, markerVersionOf } from "./keys.js";
import type { ConfiguredRoot, ObservedRoot } from "./types.js";

const decoder = new TextDecoder();
const JSON_TYPE = "application/json";

/** A typed, secret-free description of a failure (same shape as discovery's `RootReport.error`). */
export function describeError(err: unknown): string {
  if (err instanceof FsError)
    return `${err.kind}${err.status === undefined ? "" : ` (${err.status})`}: ${err.message}`;
  if (err instanceof ProximaError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `Unknown: ${err.name}`;
  return "Unknown";
}

/** The marker files at the top of a root: the versions present and whether the plain copy exists. */
interface MarkerFiles {
  versions: number[];
  main: boolean;
}

async function listMarkerFiles(fs: FileSystem, signal?: AbortSignal): Promise<MarkerFiles> {
  const versions: number[] = [];
  let main = false;
  for await (const page of fs.list(MARKER_PREFIX, { delimiter: true, ...(signal ? { signal } : {}) })) {
    for (const f of page.files) {
      if (f.key === ROOT_MARKER_FILE) main = true;
      const v = markerVersionOf(f.key);
      if (v !== undefined) versions.push(v);
    }
  }
  versions.sort((a, b) => a - b);
  return { versions, main };
}

/**
 * The newest marker of a root: the highest `_proximadb_root.v<N>.json` (format 2), else the plain
 * `_proximadb_root.json` (a format-1 marker, or a format-2 copy). One LIST and one GET.
 * @throws ForeignRootError (`Invalid`) for an unparseable marker; the adapter's FsError otherwise.
 */
export async function readNewestMarker(
  fs: FileSystem,
  signal?: AbortSignal,
): Promise<RootMarker | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const files = await listMarkerFiles(fs, signal);
    const newest = files.versions.at(-1);
    const key = newest !== undefined ? markerVersionKey(newest) : files.main ? ROOT_MARKER_FILE : undefined;
    if (key === undefined) return undefined;
    const marker = await readMarkerAt(fs, key);
    // Pruned by a concurrent rewrite between the listing and the read: list again.
    if (marker) return marker;
  }
  throw new FsError("Transient", "the root's marker kept changing while it was read", {
    root: fs.root.url,
    key: ROOT_MARKER_FILE,
  });
}

/** True when the root holds any file other than the marker and its leftovers. */
async function holdsFiles(fs: FileSystem, signal?: AbortSignal): Promise<boolean> {
  for await (const page of fs.list("", { pageSize: 100, ...(signal ? { signal } : {}) }))
    if (page.files.some((f) => !isMarkerKey(f.key))) return true;
  return false;
}

/**
 * Looks at one root without listing its collections: does it exist, what is its newest marker, and —
 * only when it has none — does it hold any file. Read-only; never throws for the root's own failures
 * (they make it `unreachable`).
 */
export async function observeRoot(root: ConfiguredRoot, signal?: AbortSignal): Promise<ObservedRoot> {
  const { component, fs } = root;
  const url = fs.root.url;
  try {
    if (!(await fs.probe()).exists) return { component, url, probe: "absent" };
    let marker: RootMarker | undefined;
    try {
      marker = await readNewestMarker(fs, signal);
    } catch (err) {
      if (err instanceof ForeignRootError) return { component, url, probe: "exists", markerInvalid: true };
      throw err;
    }
    if (marker) return { component, url, probe: "exists", marker };
    return { component, url, probe: (await holdsFiles(fs, signal)) ? "data" : "empty" };
  } catch (err) {
    signal?.throwIfAborted();
    return { component, url, probe: "unreachable", error: describeError(err) };
  }
}

/**
 * Reads every configured root's marker (a bounded number of roots at once), for {@link assessDeployment}.
 * Read-only: creates nothing, not even an absent root.
 *
 * @example
 * const observed = await readRootMarkers([{ component: "wal", fs: walFs }, { component: "viper", fs: viperFs }]);
 * const assessment = assessDeployment({ roots: observed });
 */
export async function readRootMarkers(
  roots: readonly ConfiguredRoot[],
  options: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<ObservedRoot[]> {
  const limit = pLimit(options.concurrency ?? 8);
  const out = await Promise.all(roots.map((r) => limit(() => observeRoot(r, options.signal))));
  options.signal?.throwIfAborted();
  return out;
}

/** The exact bytes a marker is stored as. */
export function markerText(marker: RootMarkerV2): string {
  return `${JSON.stringify(marker, null, 2)}\n`;
}

/**
 * Commits one version of a root's marker, durably:
 * 1. `_proximadb_root.v<version>.json` by exclusive create: the conditional step — a writer that read the
 *    same previous version loses here (`AlreadyExists`, enforced on local disk, memfs, S3, Azure, GCS);
 * 2. read back: the newest version there must be this one, byte for byte (catches a backend that does not
 *    enforce exclusive creates, such as s3rver, and a writer that started from a pruned older version);
 * 3. the plain `_proximadb_root.json` is overwritten with the same bytes (temp file + rename + fsync on
 *    disk; one atomic PUT on object stores), for readers that read only it;
 * 4. versions older than the previous one are deleted (best effort).
 * @throws DeploymentError (`Conflict`) when another writer won; the adapter's FsError otherwise.
 */
export async function commitMarker(fs: FileSystem, marker: RootMarkerV2): Promise<void> {
  const url = fs.root.url;
  const text = markerText(marker);
  const key = markerVersionKey(marker.version);
  const conflict = (why: string) =>
    new DeploymentError("Conflict", `the marker of ${url} was rewritten concurrently (${why}); retry`, {
      urls: [url],
    });
  try {
    await fs.write(key, text, { exclusive: true, durable: true, contentType: JSON_TYPE });
  } catch (err) {
    if (isFsError(err, "AlreadyExists") || isFsError(err, "ConditionFailed"))
      throw conflict(`version ${marker.version} exists`);
    throw err;
  }
  const files = await listMarkerFiles(fs);
  if (files.versions.at(-1) !== marker.version) throw conflict(`a newer version is there`);
  const back = await fs.read(key);
  if (decoder.decode(back) !== text) throw conflict(`version ${marker.version} holds another writer's list`);
  await fs.write(ROOT_MARKER_FILE, text, { durable: true, contentType: JSON_TYPE });
  const old = files.versions.filter((v) => v < marker.version - 1).map(markerVersionKey);
  if (old.length > 0) await fs.deleteMany(old).catch(() => undefined);
}
