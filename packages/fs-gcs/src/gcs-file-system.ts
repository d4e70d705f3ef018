import { inspect } from "node:util";
import {
  type Bucket,
  type File,
  IdempotencyStrategy,
  Storage,
  type StorageOptions,
} from "@google-cloud/storage";

/** Retry settings of the client (`autoRetry`, `maxRetries`, `retryDelayMultiplier`, `maxRetryDelay`, `idempotencyStrategy`, …). */
export type RetryOptions = NonNullable<StorageOptions["retryOptions"]>;
import {
  type AppendHandle,
  appendUnsupported,
  type FileChecksum,
  type FileEntry,
  type FileSystem,
  type FileSystemProvider,
  type FsCapabilities,
  FsError,
  FsGuard,
  type ListOptions,
  type ListPage,
  type ReadRange,
  type RootProbe,
  type StorageRoot,
  type WriteOptions,
  assertRootScheme,
  checkReadRange,
  deleteManyBounded,
  existsByStat,
  fsCapabilities,
  intOption,
  moveOntoItself,
  OBJECT_STORE_CAPABILITIES,
} from "@proximadb/core";
import { backoffDelayMs, type GcsBackoff } from "./backoff.js";
import { type ErrorContext, retryAfterMsOf, toFsError } from "./errors.js";
import { ReplayableBody, uploadResumable } from "./resumable.js";

/** Options of {@link GcsFileSystem} and {@link gcsFileSystemProvider}. */
export interface GcsFileSystemOptions {
  /** A ready client; when given, the connection options below are ignored. */
  readonly storage?: Storage;
  /** Google Cloud project id (needed only to create buckets; the adapter never does). */
  readonly projectId?: string;
  /** Custom endpoint (an emulator, a private endpoint). Without it the public API is used. */
  readonly apiEndpoint?: string;
  /** Path of a service-account key file. Otherwise Application Default Credentials apply. */
  readonly keyFilename?: string;
  /** Service-account credentials object. Kept out of messages, logs and `util.inspect`. */
  readonly credentials?: StorageOptions["credentials"];
  /**
   * Authenticate requests to a custom `apiEndpoint` (default `false`: emulators need no token, and the
   * client then never looks for credentials or the metadata server).
   */
  readonly useAuthWithCustomEndpoint?: boolean;
  /**
   * Retry settings (merged over {@link DEFAULT_GCS_RETRY_OPTIONS}: `autoRetry`, 7 retries,
   * `IdempotencyStrategy.RetryAlways` since every call this adapter makes is safe to repeat). `autoRetry`,
   * `maxRetries` and `totalTimeout` bound every call; the client's own delays (`retryDelayMultiplier`,
   * `maxRetryDelay`) apply only to the calls it still retries itself: `readStream`, `move`, `copyFrom`
   * and `probe`. List, stat, read, write and delete are retried by this adapter (see `retryBaseDelayMs`).
   */
  readonly retryOptions?: RetryOptions;
  /**
   * First delay of this adapter's retries in ms (list, stat, read, multipart write, delete), doubled per
   * retry with full jitter up to `maxRetryDelayMs`; a `Retry-After` on a 429/503 is waited for instead when
   * longer (up to `maxRetryAfterMs`). Default 100. Why not the client's: its delays start at 1 s
   * (`save()` through async-retry) or `2^retry` s plus up to 1 s of jitter (`retry-request`), so each
   * throttled request stalled its caller for one to three seconds.
   */
  readonly retryBaseDelayMs?: number;
  /** Cap of this adapter's backoff delays in ms (default 2,000). */
  readonly maxRetryDelayMs?: number;
  /** The longest `Retry-After` this adapter honours, in ms (default 30,000). */
  readonly maxRetryAfterMs?: number;
  /** Bodies of at least this many bytes go through a resumable upload (default 8 MiB). */
  readonly resumableThresholdBytes?: number;
  /** Chunk size of resumable uploads, a multiple of 256 KiB: the most a stream keeps in memory (default 8 MiB). */
  readonly resumableChunkBytes?: number;
  /**
   * Deadline of one `write` / `writeStream` call, retries included, in ms (default 10 minutes). When it
   * passes, the upload is abandoned (its session never finalised, so no object appears) and the call
   * fails with a retryable `Transient` error: a stalled connection never hangs a flush.
   */
  readonly uploadTimeoutMs?: number;
  /** Parallel DELETE requests in `deleteMany` / `deletePrefix` (default 16). */
  readonly deleteConcurrency?: number;
}

const MiB = 1024 * 1024;
const CHUNK_UNIT = 256 * 1024;

/** Defaults merged under the caller's {@link GcsFileSystemOptions.retryOptions}. */
export const DEFAULT_GCS_RETRY_OPTIONS: RetryOptions = {
  autoRetry: true,
  maxRetries: 7,
  idempotencyStrategy: IdempotencyStrategy.RetryAlways,
};

/** What GCS does natively: the atomic `objects.move`, `ifGenerationMatch: 0` creates, 1,000-key pages. */
export const GCS_CAPABILITIES: FsCapabilities = fsCapabilities(OBJECT_STORE_CAPABILITIES, {
  atomicMove: true,
  serverSideCopy: true,
  checksums: ["md5", "crc32c"],
});

/** First delay between two resumable-upload attempts (each a new session). */
const MIN_RETRY_DELAY_MS = 100;

/**
 * A client on the same endpoint, credentials and project as `storage`, with `autoRetry` off: the one
 * resumable uploads run on (the client's own chunk retries can crash the process, see resumable.ts).
 */
function createUploadClient(storage: Storage): Storage {
  return new Storage({
    apiEndpoint: storage.apiEndpoint,
    projectId: storage.projectId,
    authClient: storage.authClient as StorageOptions["authClient"],
    useAuthWithCustomEndpoint: storage.useAuthWithCustomEndpoint,
    universeDomain: storage.universeDomain,
    retryOptions: { autoRetry: false, maxRetries: 0 },
  });
}

/** Creates the client the adapter uses, from connection options. */
export function createGcsClient(options: GcsFileSystemOptions = {}): Storage {
  if (options.storage) return options.storage;
  const config: StorageOptions = {
    retryOptions: { ...DEFAULT_GCS_RETRY_OPTIONS, ...options.retryOptions },
  };
  if (options.projectId !== undefined) config.projectId = options.projectId;
  if (options.apiEndpoint !== undefined) {
    config.apiEndpoint = options.apiEndpoint;
    config.useAuthWithCustomEndpoint = options.useAuthWithCustomEndpoint ?? false;
  }
  if (options.keyFilename !== undefined) config.keyFilename = options.keyFilename;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  return new Storage(config);
}

/**
 * {@link FileSystem} on Google Cloud Storage for `gcs://bucket/prefix` roots (`gs://` is parsed as an
 * alias by `@proximadb/core`).
 *
 * - Listing: one `objects.list` request per page (up to 1,000), prefixes read from the API response.
 * - Writes: one multipart request below `resumableThresholdBytes`, a resumable session above it
 *   (chunks of `resumableChunkBytes`, so a stream is never held whole in memory).
 * - Exclusive create: `ifGenerationMatch: 0` (412 → `AlreadyExists`), enforced by the server.
 * - Move: the atomic `objects.move` (`moveTo`) within the bucket.
 * - Retries: the client's own `retryOptions`, except for resumable sessions: those run with the client's
 *   retries off (its chunk-retry path can throw an uncaught RangeError, see `resumable.ts`) and are
 *   retried here from byte 0 in a new session while the body is replayable, under `uploadTimeoutMs`.
 */
export class GcsFileSystem implements FileSystem {
  readonly root: StorageRoot;
  readonly capabilities: FsCapabilities = GCS_CAPABILITIES;
  // Private fields: the client holds the credentials and must never show up in util.inspect or JSON.
  readonly #storage: Storage;
  readonly #bucket: Bucket;
  /**
   * Same connection, `autoRetry` off: resumable sessions (see resumable.ts) and the single requests of
   * `#retrying` are retried by this adapter, never by the client.
   */
  readonly #uploadBucket: Bucket;
  readonly #retry: { retries: number; factor: number; maxDelayMs: number };
  /** This adapter's retries of single requests (see {@link GcsFileSystemOptions.retryBaseDelayMs}). */
  readonly #backoff: GcsBackoff;
  readonly #uploadTimeoutMs: number;
  readonly #prefix: string;
  readonly #threshold: number;
  readonly #chunkSize: number;
  readonly #deleteConcurrency: number;
  readonly #guard: FsGuard;
  /** Which server and credentials this instance talks to: two instances with the same one can rewrite. */
  readonly #origin: unknown;

  /**
   * @param root a parsed `gcs` root or its URL (`gcs://bucket/prefix`, `gs://bucket/prefix`).
   * @param options connection and tuning options; credentials come from here or the standard chain.
   * @throws InvalidStorageUrlError for a root that is not `gcs://` (`gs://`)
   * @throws InvalidArgumentError for a numeric option out of range
   */
  constructor(root: StorageRoot | string, options: GcsFileSystemOptions = {}) {
    const parsed = assertRootScheme(root, ["gcs"], "GcsFileSystem");
    const int = (name: keyof GcsFileSystemOptions, fallback: number, min: number) =>
      intOption("GcsFileSystem", name, options[name] as number | undefined, fallback, min);
    this.#uploadTimeoutMs = int("uploadTimeoutMs", 10 * 60_000, 1);
    this.#threshold = int("resumableThresholdBytes", 8 * MiB, 0);
    const chunk = int("resumableChunkBytes", 8 * MiB, CHUNK_UNIT);
    this.#chunkSize = Math.round(chunk / CHUNK_UNIT) * CHUNK_UNIT;
    this.#deleteConcurrency = int("deleteConcurrency", 16, 1);
    this.root = parsed;
    this.#guard = new FsGuard(parsed, this.capabilities.maxListPageSize);
    this.#storage = createGcsClient(options);
    this.#origin = options.storage ?? originOf(options);
    this.#bucket = this.#storage.bucket(parsed.bucket as string);
    this.#uploadBucket = createUploadClient(this.#storage).bucket(parsed.bucket as string);
    const retry = { ...DEFAULT_GCS_RETRY_OPTIONS, ...options.retryOptions };
    this.#retry = {
      retries: retry.autoRetry === false ? 0 : Math.max(0, retry.maxRetries ?? 7),
      factor: retry.retryDelayMultiplier ?? 2,
      maxDelayMs: Math.max(MIN_RETRY_DELAY_MS, (retry.maxRetryDelay ?? 64) * 1000),
    };
    this.#backoff = {
      retries: this.#retry.retries,
      baseDelayMs: int("retryBaseDelayMs", 100, 0),
      maxDelayMs: int("maxRetryDelayMs", 2000, 0),
      maxRetryAfterMs: int("maxRetryAfterMs", 30_000, 0),
      totalTimeoutMs: (retry.totalTimeout ?? 600) * 1000,
    };
    this.#prefix = parsed.prefix === "" ? "" : `${parsed.prefix}/`;
  }

  async probe(): Promise<RootProbe> {
    this.#guard.open("probe");
    try {
      const [exists] = await this.#bucket.exists();
      return { exists };
    } catch (err) {
      throw this.#error(err, { op: "probe" });
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ListPage> {
    const maxResults = this.#guard.list(prefix, options.pageSize);
    let pageToken: string | undefined;
    do {
      options.signal?.throwIfAborted();
      let page: ListPage;
      try {
        const query = {
          prefix: this.#prefix + prefix,
          delimiter: options.delimiter ? "/" : undefined,
          maxResults,
          pageToken,
          autoPaginate: false,
        };
        const [files, next, response] = await this.#retrying(
          { op: "list", key: prefix },
          (bucket) => bucket.getFiles(query),
          options.signal,
        );
        const prefixes = ((response as { prefixes?: string[] } | undefined)?.prefixes ?? [])
          .map((p) => this.#keyOf(p))
          .filter((k) => k !== "");
        const entries: FileEntry[] = [];
        for (const f of files) {
          const key = this.#keyOf(f.name);
          if (key !== "") entries.push(entryOf(key, f.metadata));
        }
        page = { files: entries, prefixes };
        pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw this.#error(err, { op: "list", key: prefix });
      }
      // GCS may answer an empty page with a token (a page of skipped names): callers see only non-empty pages.
      if (page.files.length > 0 || page.prefixes.length > 0) yield page;
    } while (pageToken);
  }

  async stat(key: string): Promise<FileEntry> {
    const name = this.#name("stat", key);
    try {
      const [metadata] = await this.#retrying({ op: "stat", key }, (b) => b.file(name).getMetadata());
      const checksum = checksumOf(metadata);
      return { ...entryOf(key, metadata), ...(checksum ? { checksum } : {}) };
    } catch (err) {
      throw this.#error(err, { op: "stat", key });
    }
  }

  async exists(key: string): Promise<boolean> {
    return existsByStat(this, key);
  }

  async read(key: string, range?: ReadRange): Promise<Uint8Array> {
    const name = this.#name("read", key);
    checkReadRange(range, key);
    const opts = rangeOptions(range);
    if (opts === "empty") {
      await this.stat(key); // still NotFound for a missing key
      return new Uint8Array(0);
    }
    try {
      const [data] = await this.#retrying({ op: "read", key }, (b) => b.file(name).download(opts));
      return data;
    } catch (err) {
      if (range && statusIs(err, 416)) return new Uint8Array(0); // offset at or past the end
      throw this.#error(err, { op: "read", key });
    }
  }

  async *readStream(key: string, range?: ReadRange): AsyncIterable<Uint8Array> {
    const file = this.#file("readStream", key);
    checkReadRange(range, key);
    const opts = rangeOptions(range);
    if (opts === "empty") {
      await this.stat(key);
      return;
    }
    try {
      for await (const chunk of file.createReadStream(opts)) yield chunk as Uint8Array;
    } catch (err) {
      if (range && statusIs(err, 416)) return;
      throw this.#error(err, { op: "readStream", key });
    }
  }

  async write(key: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const name = this.#name("write", key);
    options.signal?.throwIfAborted();
    const body =
      typeof data === "string"
        ? Buffer.from(data, "utf8")
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (body.byteLength >= this.#threshold && body.byteLength > 0) {
      await this.#resumable(key, ReplayableBody.ofBytes(body), "write", options);
      return;
    }
    try {
      // One multipart request, retried whole here on 429/5xx and resets (on the client without retries).
      const saveOptions = {
        resumable: false,
        contentType: options.contentType ?? "application/octet-stream",
        ...(options.exclusive ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      };
      await this.#retrying(
        { op: "write", key, exclusive: options.exclusive },
        (b) => b.file(name).save(body, saveOptions),
        options.signal,
      );
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#error(err, { op: "write", key, exclusive: options.exclusive });
    }
  }

  async writeStream(
    key: string,
    source: AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<{ bytes: number }> {
    this.#name("writeStream", key);
    options.signal?.throwIfAborted();
    // Read up to the threshold first: a small stream is one multipart request, a large one a resumable session.
    const iterator = source[Symbol.asyncIterator]();
    try {
      const head: Uint8Array[] = [];
      let headBytes = 0;
      let ended = false;
      while (headBytes < this.#threshold || this.#threshold === 0) {
        options.signal?.throwIfAborted();
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          break;
        }
        head.push(next.value);
        headBytes += next.value.byteLength;
        if (this.#threshold === 0) break;
      }
      if (ended) {
        await this.write(key, Buffer.concat(head), options);
        return { bytes: headBytes };
      }
      // Replayable until one chunk (or the head, if larger) plus the client's read-ahead (measured: up to
      // two more chunks while the first is in flight, plus buffered pieces) has been read: a failure
      // within the first chunk is retried from byte 0; a later one fails Transient (the source cannot be
      // re-read). The kept buffers are mostly the client's own, and are dropped once the limit passes.
      const replayLimit = Math.max(this.#threshold, this.#chunkSize) + 3 * this.#chunkSize;
      const body = ReplayableBody.ofStream(head, iterator, replayLimit);
      await this.#resumable(key, body, "writeStream", options);
      return { bytes: body.bytes };
    } finally {
      await iterator.return?.();
    }
  }

  /**
   * A resumable upload under one deadline: fresh sessions, retried here while the body is replayable.
   * Never finalised on failure or abort, so the object never appears half-written.
   */
  async #resumable(key: string, body: ReplayableBody, op: string, options: WriteOptions): Promise<void> {
    const deadline = AbortSignal.timeout(this.#uploadTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const ctx = { op, key, exclusive: options.exclusive, bareErrorIsTransient: true };
    try {
      await uploadResumable({
        file: this.#uploadBucket.file(this.#prefix + key),
        body,
        chunkSize: this.#chunkSize,
        contentType: options.contentType ?? "application/octet-stream",
        exclusive: options.exclusive === true,
        retries: this.#retry.retries,
        factor: this.#retry.factor,
        minDelayMs: MIN_RETRY_DELAY_MS,
        maxDelayMs: this.#retry.maxDelayMs,
        signal,
        toError: (err) => this.#error(err, ctx),
      });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      if (deadline.aborted)
        throw new FsError(
          "Transient",
          `gcs ${op} ${JSON.stringify(`${this.root.url}/${key}`)} failed: Transient (deadline of ${this.#uploadTimeoutMs} ms passed)`,
          { key, root: this.root.url, status: "ETIMEDOUT" },
        );
      if (body.sourceError !== undefined && err === body.sourceError) throw err;
      throw this.#error(err, ctx);
    }
  }

  async openAppend(key: string): Promise<AppendHandle> {
    this.#name("openAppend", key);
    throw appendUnsupported(this.root, key);
  }

  async move(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const src = this.#file("move", from);
    const toName = this.#name("move", to);
    if (from === to) return moveOntoItself(this, from, options);
    try {
      await src.moveFileAtomic(
        toName,
        options.overwrite === false ? { preconditionOpts: { ifGenerationMatch: 0 } } : {},
      );
    } catch (err) {
      throw this.#error(err, { op: "move", key: from, exclusive: options.overwrite === false });
    }
  }

  /**
   * Copies `sourceKey` of another GCS root on the same endpoint and credentials (another bucket or
   * prefix) to `key` on the server with `objects.rewrite` (repeated with its rewrite token until done, so
   * any size). `false` (nothing copied) for a root of another backend, endpoint or credentials.
   */
  async copyFrom(source: FileSystem, sourceKey: string, key: string): Promise<boolean> {
    const dest = this.#file("copyFrom", key);
    if (!(source instanceof GcsFileSystem) || !(#origin in source) || source.#origin !== this.#origin)
      return false;
    const src = source.#file("copyFrom", sourceKey);
    try {
      await src.copy(dest);
    } catch (err) {
      throw this.#error(err, { op: "copyFrom", key });
    }
    return true;
  }

  async delete(key: string): Promise<void> {
    const name = this.#name("delete", key);
    try {
      await this.#retrying({ op: "delete", key }, (b) => b.file(name).delete({ ignoreNotFound: true }));
    } catch (err) {
      throw this.#error(err, { op: "delete", key });
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.#name("deleteMany", k);
    // GCS has no multi-object delete in the JSON API (batch requests aside): parallel DELETEs, bounded.
    await deleteManyBounded(keys, (k) => this.delete(k), this.#deleteConcurrency);
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.#guard.deletePrefix(prefix);
    let deleted = 0;
    for await (const page of this.list(prefix)) {
      await this.deleteMany(page.files.map((f) => f.key));
      deleted += page.files.length;
    }
    return deleted;
  }

  /** Every later call rejects with `ClosedError`. The client holds nothing else to release (its keep-alive sockets are unref'd). */
  async close(): Promise<void> {
    this.#guard.close();
  }

  /** What `util.inspect` and `console.log` show: the root, never the client or its credentials. */
  [inspect.custom](): string {
    return `GcsFileSystem { root: ${JSON.stringify(this.root.url)} }`;
  }

  toJSON(): { root: string } {
    return { root: this.root.url };
  }

  /** The object name of `key`, once this instance is checked open and `key` names a file (`InvalidKey` otherwise). */
  #name(op: string, key: string): string {
    return this.#prefix + this.#guard.file(op, key);
  }

  #file(op: string, key: string): File {
    return this.#bucket.file(this.#name(op, key));
  }

  #keyOf(name: string): string {
    return name.startsWith(this.#prefix) ? name.slice(this.#prefix.length) : name;
  }

  /**
   * Runs one request on the client without retries and retries it here while it fails retryably (429,
   * 5xx, resets), at most `retryOptions.maxRetries` times within `totalTimeout`: after a jittered
   * exponential delay, or the server's `Retry-After` when longer. Rethrows the last failure as the client
   * threw it (callers map it). Safe because every request it runs is idempotent or conditional.
   */
  async #retrying<T>(
    ctx: Omit<ErrorContext, "root">,
    call: (bucket: Bucket) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const b = this.#backoff;
    const started = Date.now();
    for (let retry = 0; ; retry++) {
      try {
        return await call(this.#uploadBucket);
      } catch (err) {
        if (retry >= b.retries || !this.#error(err, ctx).retryable) throw err;
        const delay = backoffDelayMs(retry, retryAfterMsOf(err), b);
        if (Date.now() - started + delay > b.totalTimeoutMs) throw err;
        await sleep(delay, signal);
      }
    }
  }

  #error(err: unknown, ctx: Omit<ErrorContext, "root">): FsError {
    return toFsError(err, { ...ctx, root: this.root.url });
  }
}

function entryOf(
  key: string,
  metadata: { size?: string | number; updated?: string; timeCreated?: string },
): FileEntry {
  const when = metadata.updated ?? metadata.timeCreated;
  return { key, size: Number(metadata.size ?? 0), mtimeMs: when ? Date.parse(when) : 0 };
}

/**
 * The server's checksum of an object: its MD5 (absent for composite objects), else its CRC32C, both
 * base64 in the metadata, returned as hex.
 */
function checksumOf(metadata: { md5Hash?: string; crc32c?: string }): FileChecksum | undefined {
  const hex = (b64: string) => Buffer.from(b64, "base64").toString("hex");
  if (metadata.md5Hash) return { algorithm: "md5", value: hex(metadata.md5Hash) };
  if (metadata.crc32c) return { algorithm: "crc32c", value: hex(metadata.crc32c) };
  return undefined;
}

/** Identity of a connection built from options: same endpoint, project and credentials. */
function originOf(o: GcsFileSystemOptions): string {
  const creds = o.credentials as { client_email?: unknown } | undefined;
  return JSON.stringify([
    o.apiEndpoint ?? null,
    o.projectId ?? null,
    o.keyFilename ?? null,
    typeof creds?.client_email === "string" ? creds.client_email : creds === undefined ? null : "object",
  ]);
}

/** The client's download options for a (checked) range; `"empty"` for a zero-length one. */
function rangeOptions(range: ReadRange | undefined): { start?: number; end?: number } | "empty" {
  if (!range) return {};
  if (range.length === undefined) return range.offset === 0 ? {} : { start: range.offset };
  if (range.length === 0) return "empty";
  return { start: range.offset, end: range.offset + range.length - 1 };
}

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function statusIs(err: unknown, status: number): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === status;
}

/**
 * A {@link FileSystemProvider} for `gcs` roots. Every root it opens shares one client (one connection
 * pool, one credential lookup).
 */
export function gcsFileSystemProvider(options: GcsFileSystemOptions = {}): FileSystemProvider {
  let storage: Storage | undefined = options.storage;
  return {
    schemes: ["gcs"],
    open(root: StorageRoot): FileSystem {
      storage ??= createGcsClient(options);
      return new GcsFileSystem(root, { ...options, storage });
    },
  };
}
