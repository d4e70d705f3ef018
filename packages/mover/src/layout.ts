import {
  type CollectionId,
  type FileChecksum,
  type ComponentType,
  DataCorruptionError,
  INCOMING_DIR,
  RETIRED_DIR,
  ProximaError,
  STAGING_DIR,
  isComponentType,
  parseCollectionId,
} from "@proximadb/core";

export { INCOMING_DIR, RETIRED_DIR } from "@proximadb/core";
/** Name of the commit record inside `_incoming/<collection>/`: its durable write is the commit point. */
export const COMMIT_FILE = "_commit.json";
/**
 * Name of the move marker inside `_incoming/<collection>/`, written durably before the first byte is
 * copied: while it is there without a commit record, the destination's `<collection>/` holds only the
 * copy in progress (deleted on roll-back).
 */
export const MOVE_MARKER_FILE = "_move.json";

/** What a move is about: one collection's component from one root to another of the same component. */
export interface MoveSpec {
  /** Move id (`[A-Za-z0-9_-]`, part of the retired folder's name). */
  readonly id: string;
  readonly collection: CollectionId;
  readonly component: ComponentType;
  /** Canonical URL of the source root. */
  readonly from: string;
  /** Canonical URL of the destination root. */
  readonly to: string;
}

/**
 * One verified file of a move: its key relative to the collection directory, its size, and what both
 * sides agreed on: the xxHash64 of its bytes read on each side, or (`checksum`) the checksum each
 * storage server computed itself over its own copy (an S3 ETag MD5, a GCS `md5Hash`/`crc32c`, an Azure
 * `Content-MD5`), when the copy was verified without reading the bytes back. At least one is present.
 */
export interface MovedFile {
  readonly path: string;
  readonly size: number;
  readonly xxh64?: string;
  readonly checksum?: FileChecksum;
}

/** The commit record, `_incoming/<collection>/_commit.json` on the destination. */
export interface CommitRecord extends MoveSpec {
  readonly version: 1;
  /** Every file of the moved copy (all verified before the record was written). */
  readonly files: readonly MovedFile[];
  /** ISO-8601 time of the commit. */
  readonly committedAt: string;
}

/** Kinds of {@link MoveError}. */
export type MoveErrorKind =
  /** A copied file differs from its source (size or checksum). */
  | "VerifyFailed"
  /** The destination already holds the collection, or another move of it runs. */
  | "Conflict"
  /** The move was cancelled before its commit (nothing changed). */
  | "Aborted";

/** A move that cannot go on; nothing is live at the destination unless the commit record was written. */
export class MoveError extends ProximaError {
  readonly kind: MoveErrorKind;
  constructor(kind: MoveErrorKind, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super("MOVE", message, options);
    this.kind = kind;
  }
}

const MOVE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** True when `id` is a valid move id. */
export function isMoveId(id: string): boolean {
  return MOVE_ID.test(id);
}

/** `_incoming/<collection>/` on the destination. */
export function incomingDir(collection: string): string {
  return `${INCOMING_DIR}/${collection}/`;
}

/** `_incoming/<collection>/_commit.json` on the destination. */
export function commitKey(collection: string): string {
  return `${incomingDir(collection)}${COMMIT_FILE}`;
}

/** `_incoming/<collection>/_move.json` on the destination (see {@link MOVE_MARKER_FILE}). */
export function moveMarkerKey(collection: string): string {
  return `${incomingDir(collection)}${MOVE_MARKER_FILE}`;
}

/** `<collection>/` of a root: where the copy goes on the destination, the live copy on the source. */
export function collectionDir(collection: string): string {
  return `${collection}/`;
}

/** `_retired/<moveId>/<collection>/` on the source. */
export function retiredDir(spec: Pick<MoveSpec, "id" | "collection">): string {
  return `${RETIRED_DIR}/${spec.id}/${spec.collection}/`;
}

/**
 * True for a key under a collection directory that a move carries: everything but in-flight staging
 * (`_staging/…`, cleaned at start-up and never written while the collection's writes are fenced).
 */
export function isMovedPath(path: string): boolean {
  return path !== "" && !path.split("/").includes(STAGING_DIR);
}

/** Reads a commit record's JSON. @throws DataCorruptionError when it is not one */
export function parseCommitRecord(text: string, where: { root: string; key: string }): CommitRecord {
  let v: Partial<CommitRecord>;
  try {
    v = JSON.parse(text) as Partial<CommitRecord>;
  } catch (cause) {
    throw new DataCorruptionError(`commit record ${where.key} in ${where.root} is not JSON`, {
      ...where,
      cause,
    });
  }
  const bad = (why: string) =>
    new DataCorruptionError(`commit record ${where.key} in ${where.root}: ${why}`, where);
  if (v?.version !== 1) throw bad("unknown version");
  if (typeof v.id !== "string" || !isMoveId(v.id)) throw bad("bad move id");
  if (!isComponentType(v.component)) throw bad("bad component");
  if (typeof v.from !== "string" || typeof v.to !== "string") throw bad("bad root URLs");
  if (!Array.isArray(v.files)) throw bad("no file list");
  for (const f of v.files) {
    if (typeof f?.path !== "string" || !isMovedPath(f.path) || typeof f.size !== "number")
      throw bad("bad file entry");
  }
  return { ...(v as CommitRecord), collection: parseCollectionId(String(v.collection)) };
}
