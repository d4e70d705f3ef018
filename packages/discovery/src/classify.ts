import {
  type CollectionId,
  type ComponentType,
  isCollectionId,
  isDataFile,
  isReservedName,
  ROOT_MARKER_FILE,
  STAGING_DIR,
} from "@proximadb/core";
import type { IgnoredReason } from "./types.js";

/** What one root-relative key is, for discovery. */
export type KeyClass =
  | { readonly kind: "marker" }
  | { readonly kind: "data"; readonly collection: CollectionId }
  /** A file inside a candidate collection (or at the top level) that is not data. */
  | { readonly kind: "ignored"; readonly reason: IgnoredReason }
  /** A whole top-level folder that is never a collection; reported once as `<folder>/`. */
  | { readonly kind: "ignored-folder"; readonly folder: string; readonly reason: IgnoredReason };

const TEMP_SUFFIXES = [".tmp", ".temp", ".part", ".partial", "~"];

/** Temp files: hidden names (`.x`) and the usual in-progress suffixes. */
function isTempName(name: string): boolean {
  return name.startsWith(".") || TEMP_SUFFIXES.some((s) => name.endsWith(s));
}

/** Why a top-level folder name can never be a collection, or `undefined` when it can. */
export function folderProblem(name: string): IgnoredReason | undefined {
  if (isReservedName(name)) return "reserved";
  if (!isCollectionId(name)) return "invalid-collection-id";
  return undefined;
}

/**
 * Why a file at `rest` (its path inside a candidate collection folder) is not data, or `undefined` when
 * it is a data file of `component`. One pass over the segments: this runs once per listed file.
 */
export function notDataReason(component: ComponentType, rest: string): IgnoredReason | undefined {
  const segments = rest.split("/");
  if (segments[0] === STAGING_DIR) return "staging";
  let reserved = false;
  let empty = false;
  for (const s of segments) {
    if (isTempName(s)) return "temp";
    if (s.startsWith("_")) reserved = true;
    else if (s === "") empty = true;
  }
  if (reserved) return "reserved";
  // Every segment is now non-empty and unreserved, so the last one's extension decides.
  if (empty || !isDataFile(component, segments[segments.length - 1] as string)) return "not-data";
  return undefined;
}

const MARKER: KeyClass = Object.freeze({ kind: "marker" });
const TOP_LEVEL_FILE: KeyClass = Object.freeze({ kind: "ignored", reason: "top-level-file" });

/**
 * Classifies a root-relative file key:
 * top-level files are the marker or `top-level-file`; folders with reserved (`_`, `.`) or invalid
 * names are skipped whole; inside a candidate collection, `_staging/` is `staging`, hidden or
 * `.tmp`-like names are `temp`, other `_` segments `reserved`, files without the component's data
 * extension `not-data`, and the rest is data (files in sub-folders count).
 */
export function classifyKey(component: ComponentType, key: string): KeyClass {
  const slash = key.indexOf("/");
  if (slash < 0) return key === ROOT_MARKER_FILE ? MARKER : TOP_LEVEL_FILE;
  const folder = key.slice(0, slash);
  const problem = folderProblem(folder);
  if (problem) return { kind: "ignored-folder", folder, reason: problem };
  const reason = notDataReason(component, key.slice(slash + 1));
  return reason ? { kind: "ignored", reason } : { kind: "data", collection: folder as CollectionId };
}
