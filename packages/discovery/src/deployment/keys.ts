import { ROOT_MARKER_FILE } from "@proximadb/core";

const STEM = ROOT_MARKER_FILE.replace(/\.json$/, "");
const VERSION_KEY = new RegExp(
  `^${STEM.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.v([1-9][0-9]{0,15})\\.json$`,
);

/** Listing prefix shared by the marker and all its versions (`_proximadb_root`). */
export const MARKER_PREFIX: string = STEM;

/** Key of version `n` of a root's marker: `_proximadb_root.v<n>.json`. */
export function markerVersionKey(version: number): string {
  return `${STEM}.v${version}.json`;
}

/** The version a marker version key names, or `undefined` for any other key. */
export function markerVersionOf(key: string): number | undefined {
  const m = VERSION_KEY.exec(key);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * True for the marker (`_proximadb_root.json`), one of its versions, or a temp file an interrupted marker
 * write left behind (`._proximadb_root….tmp-…` on local disk): none of them is data.
 */
export function isMarkerKey(key: string): boolean {
  return key === ROOT_MARKER_FILE || markerVersionOf(key) !== undefined || key.startsWith(`.${STEM}`);
}
