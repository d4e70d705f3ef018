import { InvalidComponentError } from "./errors.js";

/** The storage components a collection has; each has its own list of storage roots. */
export const COMPONENT_TYPES = ["wal", "viper", "lsm", "index", "metadata"] as const;

/** One of {@link COMPONENT_TYPES}. */
export type ComponentType = (typeof COMPONENT_TYPES)[number];

/** File extensions (with the dot) that mark a data file of each component. */
export const DATA_FILE_EXTENSIONS: Readonly<Record<ComponentType, readonly string[]>> = {
  wal: [".avro", ".bincode"],
  viper: [".parquet", ".vpr"],
  lsm: [".sst", ".lsm"],
  index: [".idx", ".hnsw", ".ivf"],
  metadata: [".json", ".meta"],
};

/** Name of the folder, under a collection directory, that holds in-flight flush/compaction output. */
export const STAGING_DIR = "_staging";

/**
 * Top-level folder of a root holding moves in progress into it (`_incoming/<collectionId>/…`, see
 * `@proximadb/mover`). Reserved: discovery skips it whole, so it is never a collection nor an orphan.
 */
export const INCOMING_DIR = "_incoming";

/** Top-level folder of a root holding copies retired by a committed move, deleted later. Reserved. */
export const RETIRED_DIR = "_retired";

/** Name of the identity marker file at the top of every root. */
export const ROOT_MARKER_FILE = "_proximadb_root.json";

/** True when `value` is a known component type. */
export function isComponentType(value: unknown): value is ComponentType {
  return typeof value === "string" && (COMPONENT_TYPES as readonly string[]).includes(value);
}

/** Returns `value` as a {@link ComponentType} or throws {@link InvalidComponentError}. */
export function parseComponentType(value: string): ComponentType {
  if (!isComponentType(value)) throw new InvalidComponentError(value);
  return value;
}

/**
 * True for names that are reserved by the storage layer and are never data or collections:
 * a leading `_` (markers, staging) or `.` (hidden and temp files).
 */
export function isReservedName(name: string): boolean {
  return name.startsWith("_") || name.startsWith(".");
}

/**
 * True when the last path segment of `key` is a data file of `component`: its extension is one of
 * {@link DATA_FILE_EXTENSIONS} and no segment of the key is reserved (staging, hidden, markers).
 */
export function isDataFile(component: ComponentType, key: string): boolean {
  const segments = key.split("/");
  if (segments.some((s) => s === "" || isReservedName(s))) return false;
  const name = segments[segments.length - 1] as string;
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return false;
  const ext = name.slice(dot).toLowerCase();
  return DATA_FILE_EXTENSIONS[component].includes(ext);
}
