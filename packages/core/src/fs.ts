import { ProximaError } from "./errors.js";
import type { StorageRoot, StorageScheme } from "./storage-url.js";

/**
 * The kinds of storage failure. Callers branch on the kind, never on message text.
 * - `NotFound`: the key (or the root) does not exist.
 * - `AlreadyExists`: an exclusive create found the key present.
 * - `ConditionFailed`: another precondition failed (e.g. a generation or etag changed).
 * - `PermissionDenied`: credentials are missing or insufficient.
 * - `Unsupported`: the backend cannot do this (see {@link FsCapabilities}).
 * - `InvalidKey`: the key is malformed or would escape its root.
 * - `Transient`: throttling, 5xx, resets, time-outs: retrying later may succeed.
 * - `NoSpace`: the device, a quota or a backend size limit is exhausted (`ENOSPC`, `EDQUOT`,
 *   `EntityTooLarge`, quota exceeded); nothing was written. Not retryable as is: free space or use
 *   another root.
 * - `Unknown`: anything else (the original error is the `cause`).
 */
export type FsErrorKind =
  | "NotFound"
  | "AlreadyExists"
  | "ConditionFailed"
  | "PermissionDenied"
  | "Unsupported"
  | "InvalidKey"
  | "Transient"
  | "NoSpace"
  | "Unknown";

/** A typed storage error raised by every {@link FileSystem} adapter. */
export class FsError extends ProximaError {
  readonly kind: FsErrorKind;
  /** Root-relative key the operation was about, when there is one. */
  readonly key: string | undefined;
  /** Canonical URL of the root (never with credentials). */
  readonly root: string | undefined;
  /** Backend status code (HTTP status, errno code) when known. */
  readonly status: string | number | undefined;

  constructor(
    kind: FsErrorKind,
    message: string,
    details: {
      key?: string;
      root?: string;
      status?: string | number;
      cause?: unknown;
      retryable?: boolean;
    } = {},
  ) {
    super("FS_ERROR", message, {
      cause: details.cause,
      retryable: details.retryable ?? kind === "Transient",
    });
    this.kind = kind;
    this.key = details.key;
    this.root = details.root;
    this.status = details.status;
  }
}

/**
 * Network failure codes (Node errno, undici, stream) that every remote adapter treats as `Transient`:
 * the request may not have reached the server, or its answer was lost; retrying later may succeed.
 */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** True when `err` is an {@link FsError} of the given kind. */
export function isFsError(err: unknown, kind?: FsErrorKind): err is FsError {
  return err instanceof FsError && (kind === undefined || err.kind === kind);
}

/**
 * What a backend can do natively. The core and engines ask instead of guessing, and emulate what
 * is missing — saying so (a move on plain S3 is copy + delete, not atomic).
 */
export interface FsCapabilities {
  /** `move` is a single atomic step (rename on disk, DFS rename, GCS object move). */
  readonly atomicMove: boolean;
  /** `move` runs on the server (never streams the body through this process). */
  readonly serverSideMove: boolean;
  /** `write(..., { exclusive: true })` is enforced by the backend (and so safe across processes). */
  readonly conditionalCreate: boolean;
  /** `openAppend` is supported (local files); object stores write one object per batch instead. */
  readonly append: boolean;
  /**
   * `durable: true` writes are fsynced (file and, after create/rename, its directory and every directory
   * created on the way); `durable` deletes fsync the folder that lost the entry.
   */
  readonly fsync: boolean;
  /** Listing with a delimiter is native (one request per page, prefixes returned by the server). */
  readonly delimiterList: boolean;
  /** Ranged reads are supported. */
  readonly rangeRead: boolean;
  /** Largest page a single LIST request returns. */
  readonly maxListPageSize: number;
  /** Listing and writes go over the network (object stores): listing cost is counted in requests. */
  readonly remote: boolean;
  /**
   * Optional: {@link FileSystem.copyFrom} can copy from another root of the same backend on the server
   * (S3 `CopyObject` across buckets of one endpoint). Absent means false.
   */
  readonly serverSideCopy?: boolean;
  /**
   * Optional: the whole-object checksums the server computes itself over the bytes of each object it
   * stores, server-side copies included, and {@link FileSystem.stat} reports as {@link FileEntry.checksum}
   * (S3: a single-part ETag is the MD5; GCS: `md5Hash`, else `crc32c`). Absent or empty: `stat` never
   * reports one (local disks; Azure, whose `Content-MD5` is a property Copy Blob carries over rather than
   * recomputes). Even when listed, an object may have none (an S3 multipart or SSE-KMS object, a GCS
   * composite's MD5): then the caller reads the bytes and hashes them itself.
   */
  readonly checksums?: readonly ChecksumAlgorithm[];
}

/** A whole-object checksum algorithm a storage server computes itself (see {@link FsCapabilities.checksums}). */
export type ChecksumAlgorithm = "md5" | "crc32c";

/**
 * A checksum of an object's exact bytes, computed by the storage server (never by this process), as
 * lowercase hex (`md5`: 32 digits; `crc32c`: 8 digits, big-endian). Two objects with equal size and
 * the same algorithm and value hold the same bytes, as far as that algorithm tells.
 */
export interface FileChecksum {
  readonly algorithm: ChecksumAlgorithm;
  readonly value: string;
}

/** One file (object) in a listing or a `stat`. */
export interface FileEntry {
  /** Root-relative key, `/`-separated, never starting with `/`. */
  readonly key: string;
  /** Size in bytes. */
  readonly size: number;
  /** Last modification time in milliseconds since the epoch. */
  readonly mtimeMs: number;
  /**
   * The server's own checksum of the whole object, from {@link FileSystem.stat} (and from listings of
   * backends whose LIST reports it at no extra cost: S3's ETag), when the backend offers one for this
   * object (see {@link FsCapabilities.checksums}). A listing may lack what `stat` knows (S3 lists no
   * encryption headers, so an SSE-KMS object's ETag, which is not its MD5, can look like one there):
   * two checksums that differ prove nothing, two that agree (with the sizes) do.
   */
  readonly checksum?: FileChecksum;
}

/** One page of a listing. */
export interface ListPage {
  /** Files in this page, in ascending key order within the page. */
  readonly files: readonly FileEntry[];
  /** In delimiter mode: the "sub-folders" (common prefixes), each ending with `/`. */
  readonly prefixes: readonly string[];
}

/** Options of {@link FileSystem.list}. */
export interface ListOptions {
  /**
   * `true`: list only the level directly under the prefix, sub-folders as `prefixes` (S3 delimiter `/`).
   * `false` (default): every file below the prefix, recursively.
   */
  readonly delimiter?: boolean;
  /** Keys per request (capped by {@link FsCapabilities.maxListPageSize}). */
  readonly pageSize?: number;
  /** Aborts the listing. */
  readonly signal?: AbortSignal;
}

/** Options of {@link FileSystem.write} and {@link FileSystem.writeStream}. */
export interface WriteOptions {
  /** Create only if absent; otherwise throws `AlreadyExists`. Enforced by the backend when `capabilities.conditionalCreate`. */
  readonly exclusive?: boolean;
  /**
   * The write is durable when the promise resolves (fsync on disk: the file, its folder, and every folder
   * created on the way; object stores are durable on success).
   */
  readonly durable?: boolean;
  /** Content type for object stores. */
  readonly contentType?: string;
  /** Aborts the write; a partially written object is never left visible. */
  readonly signal?: AbortSignal;
}

/** Options of {@link FileSystem.copyFrom}. */
export interface CopyFromOptions {
  /**
   * `true` (the default): the copy is durable when `copyFrom` resolves. `false`: it is in place, whole
   * and readable (still atomic: a temp file renamed), but on a local disk neither its bytes nor its folder
   * entry are fsynced yet — call {@link FileSystem.sync} before relying on it, e.g. while the copy is read
   * back and hashed. Backends whose copies are always durable ignore it.
   */
  readonly durable?: boolean;
  /**
   * The source's entry as the caller listed it (size, and the server's checksum). A backend that would
   * `stat` the source first (S3: for its size and the ETag the copy is made conditional on) uses it
   * instead: one round trip less per file. The copy still happens only if the source is still that
   * version (S3: `CopySourceIfMatch`); otherwise nothing is copied and `copyFrom` answers `false`.
   * Ignored when its key is not `sourceKey` or it carries no checksum; other backends ignore it.
   */
  readonly sourceEntry?: FileEntry;
}

/**
 * Options of {@link FileSystem.delete}, {@link FileSystem.deleteMany} and {@link FileSystem.deletePrefix}.
 */
export interface DeleteOptions {
  /**
   * The removal survives a power cut when the promise resolves: on disk, the folder that lost the entry
   * (the nearest surviving one, after emptied folders are pruned) is fsynced. Object stores are durable on
   * success and ignore it.
   */
  readonly durable?: boolean;
}

/** A byte range for reads: `length` omitted means to the end. */
export interface ReadRange {
  readonly offset: number;
  readonly length?: number;
}

/** Result of {@link FileSystem.probe}. */
export interface RootProbe {
  /** The root exists (folder present / bucket or container reachable). */
  readonly exists: boolean;
}

/** A file opened for appending (local backends only: `capabilities.append`). */
export interface AppendHandle {
  /** Current size in bytes. */
  readonly size: number;
  /** Appends bytes (not yet durable). */
  write(data: Uint8Array): Promise<void>;
  /** Makes every byte written so far durable (fsync). */
  sync(): Promise<void>;
  /** Cuts the file to `size` bytes (used to drop a torn tail). */
  truncate(size: number): Promise<void>;
  /** Closes the handle. */
  close(): Promise<void>;
}

/**
 * A file opened for positional reads: one descriptor kept open across many reads (an SSTable's blocks).
 * Local backends offer it through {@link FileSystem.openReader}.
 */
export interface PositionalReader {
  /** Reads `length` bytes at `offset` (fewer only at the end of the file). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the handle. */
  close(): Promise<void>;
}

/**
 * The contract every storage adapter implements. One instance is bound to one storage root:
 * every key is root-relative (`coll-a/vectors/part-1.parquet`), so a move can never cross roots and a
 * key that would escape the root (`..`, a leading `/`, NUL) is an `InvalidKey` error.
 *
 * Listing follows object-store semantics on every backend: a prefix matches keys that start
 * with it (`coll-1/` does not match `coll-10/…`; `a/file.txt` matches that file itself).
 */
export interface FileSystem {
  /** The root this instance serves. */
  readonly root: StorageRoot;
  /** What this backend does natively. */
  readonly capabilities: FsCapabilities;
  /** Checks that the root exists and is reachable, without creating anything. */
  probe(): Promise<RootProbe>;
  /** Lists keys under `prefix` ("" for the whole root) page by page. */
  list(prefix: string, options?: ListOptions): AsyncIterable<ListPage>;
  /**
   * Size and mtime of one key, and the server's checksum of it where the backend has one
   * ({@link FsCapabilities.checksums}); throws `NotFound`.
   */
  stat(key: string): Promise<FileEntry>;
  /** True when the key exists. */
  exists(key: string): Promise<boolean>;
  /** Reads a whole key (or a range) into memory; throws `NotFound`. */
  read(key: string, range?: ReadRange): Promise<Uint8Array>;
  /**
   * Optional: opens a key for repeated positional reads without reopening it each time (local files).
   * Callers fall back to ranged {@link read} when it is absent. Throws `NotFound`.
   */
  openReader?(key: string): Promise<PositionalReader>;
  /** Streams a key (or a range) without buffering it whole. */
  readStream(key: string, range?: ReadRange): AsyncIterable<Uint8Array>;
  /** Writes a whole key; parent "folders" are created as needed. */
  write(key: string, data: Uint8Array | string, options?: WriteOptions): Promise<void>;
  /** Writes a key from a stream without buffering it whole; returns the bytes written. */
  writeStream(
    key: string,
    source: AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<{ bytes: number }>;
  /** Opens a key for appending (creating it if absent). Throws `Unsupported` unless `capabilities.append`. */
  openAppend(key: string): Promise<AppendHandle>;
  /**
   * Moves `from` to `to` inside this root (rename on disk, server-side copy + delete or native move on
   * object stores). Overwrites `to` unless `overwrite: false`. Durable when it resolves.
   */
  move(from: string, to: string, options?: { overwrite?: boolean }): Promise<void>;
  /**
   * Optional (`capabilities.serverSideCopy`): copies `sourceKey` of ANOTHER root (`source`) to `key` in this
   * root on the server, without streaming the bytes through this process, overwriting `key`; durable when
   * it resolves `true` or an entry. Resolves `false`, copying nothing, when it cannot for this pair
   * (another backend, endpoint or account; an object too large for one copy request): the caller then
   * streams. An adapter whose copy request answers with the new object's server checksum (S3's
   * `CopyObjectResult.ETag`) may resolve that entry of `key` (size, mtime, checksum) instead of `true`,
   * sparing the caller a `stat`. With `durable: false` (see {@link CopyFromOptions}) a local copy is in place
   * but not yet fsynced: {@link FileSystem.sync} makes it durable.
   */
  copyFrom?(
    source: FileSystem,
    sourceKey: string,
    key: string,
    options?: CopyFromOptions,
  ): Promise<boolean | FileEntry>;
  /**
   * Optional (local disks): makes files this root wrote without durability (a `copyFrom` with
   * `durable: false`) durable — each file's bytes, then every folder that names one (and the folders
   * created for it). Absent where every write is durable when it resolves (object stores).
   * Throws `NotFound` for a key that is not there, `InvalidKey` for a bad key.
   */
  sync?(keys: readonly string[]): Promise<void>;
  /** Deletes a key; a missing key is not an error. `durable`: see {@link DeleteOptions}. */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  /** Deletes many keys (batched where the backend allows); missing keys are not errors. */
  deleteMany(keys: readonly string[], options?: DeleteOptions): Promise<void>;
  /** Deletes every key under `prefix` (which must be non-empty and end with `/`). */
  deletePrefix(prefix: string, options?: DeleteOptions): Promise<number>;
  /** Releases clients and handles. */
  close(): Promise<void>;
}

/** Opens {@link FileSystem}s for the URL schemes it supports. */
export interface FileSystemProvider {
  /** Schemes this provider serves. */
  readonly schemes: readonly StorageScheme[];
  /** Opens the root (never creates it: creation happens on the first write). */
  open(root: StorageRoot): FileSystem;
}

/**
 * Checks a root-relative key and returns it unchanged. Throws `InvalidKey` for an empty key
 * (unless `allowEmpty`), a leading `/`, empty, `.` or `..` segments, NUL or backslashes.
 */
export function assertKey(key: string, options: { allowEmpty?: boolean; root?: string } = {}): string {
  const bad = (why: string) =>
    new FsError("InvalidKey", `invalid key ${JSON.stringify(key)}: ${why}`, { key, root: options.root });
  if (typeof key !== "string") throw bad("must be a string");
  if (key === "") {
    if (options.allowEmpty) return key;
    throw bad("must not be empty");
  }
  if (key.includes("\0")) throw bad("NUL is not allowed");
  if (key.includes("\\")) throw bad("backslashes are not allowed");
  if (key.startsWith("/")) throw bad("must be relative to the root");
  const segments = key.split("/");
  // A trailing "/" (a prefix) leaves one empty last segment: allowed.
  const inner = key.endsWith("/") ? segments.slice(0, -1) : segments;
  for (const s of inner) {
    if (s === "") throw bad("empty path segment");
    if (s === "." || s === "..") throw bad(`'${s}' segments would escape the root`);
  }
  return key;
}

/** Collects every page of a listing into one array of files and one of prefixes. */
export async function listAll(
  fs: FileSystem,
  prefix: string,
  options?: ListOptions,
): Promise<{ files: FileEntry[]; prefixes: string[] }> {
  const files: FileEntry[] = [];
  const prefixes: string[] = [];
  for await (const page of fs.list(prefix, options)) {
    files.push(...page.files);
    prefixes.push(...page.prefixes);
  }
  return { files, prefixes };
}
