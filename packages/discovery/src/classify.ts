import {
  type CollectionId,
  type ComponentType,
  isCollectionId,
  DATA_FILE_EXTENSIONS,
  isReservedName,
  ROOT_MARKER_FILE,
  STAGING_DIR,
} from "@proximadb/core";
import { markerVersionOf } from "./deployment/keys.js";
import type { IgnoredReason } from "./types.js";

/** What one root-relative key is, for discovery. */
export type KeyClass =
  | { readonly kind: "marker" }
  | { readonly kind: "data"; readonly collection: CollectionId }
  /** A file inside a candidate collection (or at the top level) that is not data. */
  | { readonly kind: "ignored"; readonly reason: IgnoredReason }
  /** A whole top-level folder that is never a collection; reported once as `<folder>/`. */
  | { readonly kind: "ignored-folder"; readonly folder: string; readonly reason: IgnoredReason };

/** Temp files: hidden names (`.x`) and the usual in-progress suffixes (`.tmp`, `.temp`, `.part`, `.partial`, `~`). */
const TEMP_NAME = /^\.|(?:\.tmp|\.temp|\.part|\.partial|~)$/;

/** Why a top-level folder name can never be a collection, or `undefined` when it can. */
export function folderProblem(name: string): IgnoredReason | undefined {
  if (isReservedName(name)) return "reserved";
  if (!isCollectionId(name)) return "invalid-collection-id";
  return undefined;
}

/**
 * True when `name` (one non-empty, unreserved segment) ends in a data extension of `component`: the rule
 * of core's `isDataFile` for a single segment, without its split (this runs once per listed file).
 */
function hasDataExtension(component: ComponentType, name: string): boolean {
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return false;
  const ext = name.slice(dot);
  const exts = DATA_FILE_EXTENSIONS[component];
  return exts.includes(ext) || exts.includes(ext.toLowerCase());
}

/**
 * Why the file `key` is not data, or `undefined` when it is a data file of `component`, judging the path
 * from `start` on (its path inside a candidate collection folder). This runs once per listed file: one
 * pass over the segments, no array.
 */
export function notDataReason(component: ComponentType, key: string, start = 0): IgnoredReason | undefined {
  let reserved = false;
  let empty = false;
  let segment = "";
  for (let i = start; ; ) {
    const slash = key.indexOf("/", i);
    segment = slash < 0 ? key.slice(i) : key.slice(i, slash);
    if (i === start && segment === STAGING_DIR) return "staging";
    if (TEMP_NAME.test(segment)) return "temp";
    if (segment.startsWith("_")) reserved = true;
    else if (segment === "") empty = true;
    if (slash < 0) break;
    i = slash + 1;
  }
  if (reserved) return "reserved";
  // No segment is temp or reserved: unless one is empty, the last one's extension decides.
  if (empty || !hasDataExtension(component, segment)) return "not-data";
  return undefined;
}

const MARKER: KeyClass = Object.freeze({ kind: "marker" });
const TOP_LEVEL_FILE: KeyClass = Object.freeze({ kind: "ignored", reason: "top-level-file" });

/**
 * Classifies a root-relative file key:
 * top-level files are the marker (or one of its versions, `_proximadb_root.v<N>.json`) or
 * `top-level-file`; folders with reserved (`_`, `.`) or invalid names are skipped whole; inside a candidate collection, `_staging/` is `staging`, hidden or
 * `.tmp`-like names are `temp`, other `_` segments `reserved`, files without the component's data
 * extension `not-data`, and the rest is data (files in sub-folders count).
 */
export function classifyKey(component: ComponentType, key: string): KeyClass {
  const slash = key.indexOf("/");
  if (slash < 0)
    return key === ROOT_MARKER_FILE || markerVersionOf(key) !== undefined ? MARKER : TOP_LEVEL_FILE;
  const folder = key.slice(0, slash);
  const problem = folderProblem(folder);
  if (problem) return { kind: "ignored-folder", folder, reason: problem };
  const reason = notDataReason(component, key, slash + 1);
  return reason ? { kind: "ignored", reason } : { kind: "data", collection: folder as CollectionId };
}
