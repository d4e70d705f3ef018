/**
 * Building blocks for {@link FileSystem} adapters: the checks and fallbacks every adapter shares, written
 * once so that every backend raises the same error class and kind for the same situation.
 *
 * | situation | raised |
 * |---|---|
 * | a root of another scheme given to a constructor | `InvalidStorageUrlError` ({@link assertRootScheme}) |
 * | a bad read range, page size or numeric option | `InvalidArgumentError` ({@link checkReadRange}, {@link listPageSize}, {@link intOption}) |
 * | a key that escapes the root, or a folder key where a file is meant | `FsError("InvalidKey")` ({@link assertFileKey}, {@link assertDeletePrefix}) |
 * | any call after `close()` | `ClosedError` ({@link assertOpen}) |
 */
import pMap from "p-map";
import { ClosedError, InvalidArgumentError, InvalidStorageUrlError } from "./errors.js";
import { type FileSystem, type FsCapabilities, FsError, type ReadRange, assertKey, isFsError } from "./fs.js";
import { type StorageRoot, type StorageScheme, parseStorageUrl } from "./storage-url.js";

/** The boolean flags of {@link FsCapabilities} (every key but `maxListPageSize`). */
export const FS_CAPABILITY_FLAGS = [
  "atomicMove",
  "serverSideMove",
  "conditionalCreate",
  "append",
  "fsync",
  "delimiterList",
  "rangeRead",
  "remote",
] as const satisfies readonly (keyof FsCapabilities)[];

/**
 * Declares an adapter's capabilities: a frozen copy of `base` with `overrides` applied, every flag checked.
 * The one way adapters declare them (each exports its constant, e.g. `S3_CAPABILITIES`).
 *
 * @example
 * export const MY_CAPABILITIES = fsCapabilities({ atomicMove: false, ..., maxListPageSize: 1000, remote: true });
 * @throws InvalidArgumentError for a flag that is not a boolean or a page size that is not a positive integer
 */
export function fsCapabilities(
  base: FsCapabilities,
  overrides: Partial<FsCapabilities> = {},
): FsCapabilities {
  const caps = { ...base, ...overrides };
  for (const flag of FS_CAPABILITY_FLAGS) {
    if (typeof caps[flag] !== "boolean")
      throw new InvalidArgumentError(`capability ${flag} must be a boolean (got ${String(caps[flag])})`);
  }
  if (!Number.isSafeInteger(caps.maxListPageSize) || caps.maxListPageSize < 1) {
    throw new InvalidArgumentError(
      `capability maxListPageSize must be a positive integer (got ${String(caps.maxListPageSize)})`,
    );
  }
  return Object.freeze(caps);
}

/**
 * What the object stores (S3, Azure Blob, GCS) share: server-side but non-atomic moves, conditional
 * creates, delimiter listings of 1,000 keys a page, range reads, no append, no fsync; remote. An adapter
 * declares its own with the differences as overrides.
 *
 * @example
 * export const GCS_CAPABILITIES = fsCapabilities(OBJECT_STORE_CAPABILITIES, { atomicMove: true });
 */
export const OBJECT_STORE_CAPABILITIES: FsCapabilities = fsCapabilities({
  atomicMove: false,
  serverSideMove: true,
  conditionalCreate: true,
  append: false,
  fsync: false,
  delimiterList: true,
  rangeRead: true,
  maxListPageSize: 1000,
  remote: true,
});

/**
 * Parses `root` (a URL or a parsed root) and checks its scheme.
 * @throws InvalidStorageUrlError when the scheme is not one of `schemes` (or the URL does not parse)
 */
export function assertRootScheme(
  root: StorageRoot | string,
  schemes: readonly StorageScheme[],
  adapter: string,
): StorageRoot {
  const parsed = typeof root === "string" ? parseStorageUrl(root) : root;
  if (!schemes.includes(parsed.scheme)) {
    const served = schemes.map((s) => `${s}://`).join(" or ");
    throw new InvalidStorageUrlError(
      parsed.url,
      `${adapter} serves ${served} roots, not ${parsed.scheme}://`,
    );
  }
  return parsed;
}

/**
 * Throws {@link ClosedError} (code `CLOSED`) when `closed`: adapters call it first in every operation, so a
 * call after `close()` touches nothing.
 */
export function assertOpen(closed: boolean, root: StorageRoot, operation: string): void {
  if (closed) throw new ClosedError(`file system ${root.url}`, operation);
}

/**
 * {@link assertKey} for a key that names one file: besides escaping keys, a key ending in `/` (a folder, a
 * prefix) is `InvalidKey`. Returns the key.
 */
export function assertFileKey(key: string, root: StorageRoot): string {
  assertKey(key, { root: root.url });
  if (key.endsWith("/")) {
    throw new FsError("InvalidKey", `invalid key ${JSON.stringify(key)}: a file key cannot end with '/'`, {
      key,
      root: root.url,
    });
  }
  return key;
}

/** Checks the prefix of `deletePrefix`: a valid, non-empty key ending in `/`, or `InvalidKey`. */
export function assertDeletePrefix(prefix: string, root: StorageRoot): string {
  assertKey(prefix, { root: root.url });
  if (!prefix.endsWith("/")) {
    throw new FsError(
      "InvalidKey",
      `deletePrefix needs a prefix ending with '/' (got ${JSON.stringify(prefix)})`,
      { key: prefix, root: root.url },
    );
  }
  return prefix;
}

/**
 * The prologue of every single-file operation: {@link assertOpen}, then {@link assertFileKey}. Returns the key.
 * @throws ClosedError after `close()`; FsError `InvalidKey` for a key that does not name a file
 */
export function assertFileOp(closed: boolean, root: StorageRoot, operation: string, key: string): string {
  assertOpen(closed, root, operation);
  return assertFileKey(key, root);
}

/**
 * The prologue of `list`: {@link assertOpen}, a valid (possibly empty) prefix, then the page size
 * ({@link listPageSize}) the listing uses.
 * @throws ClosedError after `close()`; FsError `InvalidKey` for an escaping prefix; InvalidArgumentError for a bad page size
 */
export function assertListOp(
  closed: boolean,
  root: StorageRoot,
  prefix: string,
  pageSize: number | undefined,
  maxListPageSize: number,
): number {
  assertOpen(closed, root, "list");
  assertKey(prefix, { allowEmpty: true, root: root.url });
  return listPageSize(pageSize, maxListPageSize);
}

/**
 * The prologue of `deletePrefix`: {@link assertOpen}, then {@link assertDeletePrefix}. Returns the prefix.
 * @throws ClosedError after `close()`; FsError `InvalidKey` for a prefix that is empty or does not end with `/`
 */
export function assertDeletePrefixOp(closed: boolean, root: StorageRoot, prefix: string): string {
  assertOpen(closed, root, "deletePrefix");
  return assertDeletePrefix(prefix, root);
}

/**
 * The `Unsupported` error of `openAppend` on a backend without appends (`capabilities.append: false`):
 * object stores write one object per batch instead.
 */
export function appendUnsupported(root: StorageRoot, key: string): FsError {
  return new FsError(
    "Unsupported",
    `openAppend ${JSON.stringify(key)} in ${root.url}: objects cannot be appended to (capabilities.append is false); write one object per batch`,
    { key, root: root.url },
  );
}

/**
 * Checks a read range: `offset`, and `length` when given, must be non-negative safe integers.
 * @throws InvalidArgumentError (code `INVALID_ARGUMENT`) otherwise
 */
export function checkReadRange(range: ReadRange | undefined, key: string): void {
  if (range === undefined) return;
  const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!ok(range.offset) || (range.length !== undefined && !ok(range.length))) {
    throw new InvalidArgumentError(
      `invalid read range ${JSON.stringify({ offset: range.offset, length: range.length })} for ${JSON.stringify(key)}: offset and length must be non-negative integers`,
    );
  }
}

/** Keys per page when a listing names no page size. */
export const DEFAULT_LIST_PAGE_SIZE = 1000;

/**
 * The page size a listing uses: `pageSize` (default 1,000) capped at the backend's `maxListPageSize`.
 * @throws InvalidArgumentError when `pageSize` is given and is not a positive integer
 */
export function listPageSize(pageSize: number | undefined, maxListPageSize: number): number {
  if (pageSize === undefined) return Math.min(DEFAULT_LIST_PAGE_SIZE, maxListPageSize);
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw new InvalidArgumentError(`list pageSize must be a positive integer (got ${String(pageSize)})`);
  }
  return Math.min(pageSize, maxListPageSize);
}

/**
 * A numeric adapter option: `fallback` when absent, else an integer of at least `min`.
 * @throws InvalidArgumentError naming the adapter and the option otherwise
 */
export function intOption(
  adapter: string,
  name: string,
  value: number | undefined,
  fallback: number,
  min = 1,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new InvalidArgumentError(
      `${adapter} option ${name} must be an integer >= ${min}, got ${String(value)}`,
    );
  }
  return value;
}

/** What `op` resolves to, or `undefined` when it fails with `NotFound`; any other error is thrown. */
async function unlessNotFound<T>(op: () => Promise<T>): Promise<T | undefined> {
  try {
    return await op();
  } catch (err) {
    if (isFsError(err, "NotFound")) return undefined;
    throw err;
  }
}

/** `exists` through `stat`: true when it succeeds, false on `NotFound`; any other error is thrown. */
export async function existsByStat(fs: Pick<FileSystem, "stat">, key: string): Promise<boolean> {
  return (await unlessNotFound(() => fs.stat(key))) !== undefined;
}

/**
 * The whole file `key`, or `undefined` when it does not exist (`NotFound`); any other error is thrown. For
 * the small documents a root may or may not hold: markers, definitions, commit records.
 *
 * @example
 * const bytes = await readIfPresent(fs, "_proximadb/root.json");
 * if (bytes === undefined) return undefined; // no marker yet
 */
export function readIfPresent(fs: Pick<FileSystem, "read">, key: string): Promise<Uint8Array | undefined> {
  return unlessNotFound(() => fs.read(key));
}

/** `read` through `readStream`: the chunks joined into one buffer (a single chunk is returned as it is). */
export async function readByStream(
  fs: Pick<FileSystem, "readStream">,
  key: string,
  range?: ReadRange,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of fs.readStream(key, range)) {
    chunks.push(chunk);
    total += chunk.byteLength;
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Parallel deletes `deleteMany` keeps in flight when the backend has no batch delete. */
export const DELETE_CONCURRENCY = 16;

/**
 * `deleteMany` for backends without a batch delete: each distinct key deleted by `deleteOne`, at most
 * `concurrency` at a time. The first failure rejects (deletes already in flight finish).
 */
export async function deleteManyBounded(
  keys: readonly string[],
  deleteOne: (key: string) => Promise<void>,
  concurrency: number = DELETE_CONCURRENCY,
): Promise<void> {
  await pMap(new Set(keys), deleteOne, { concurrency });
}

/**
 * `move(key, key)`: nothing moves, but the call answers as a move would: `NotFound` when the key is
 * missing, `AlreadyExists` with `overwrite: false` (the target exists: it is the source).
 */
export async function moveOntoItself(
  fs: Pick<FileSystem, "stat" | "root">,
  key: string,
  options: { overwrite?: boolean } = {},
): Promise<void> {
  await fs.stat(key);
  if (options.overwrite === false) {
    throw new FsError(
      "AlreadyExists",
      `move ${JSON.stringify(key)} onto itself in ${fs.root.url}: the target exists`,
      {
        key,
        root: fs.root.url,
      },
    );
  }
}
