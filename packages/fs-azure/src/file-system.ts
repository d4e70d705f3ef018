import { Readable } from "node:stream";
import { inspect } from "node:util";
import type { BlobBatchClient, BlockBlobClient, ContainerClient } from "@azure/storage-blob";
import {
  type AppendHandle,
  appendUnsupported,
  assertRootScheme,
  checkReadRange,
  existsByStat,
  type FileEntry,
  FsError,
  FsGuard,
  type FileSystem,
  type FsCapabilities,
  fsCapabilities,
  intOption,
  type ListOptions,
  type ListPage,
  moveOntoItself,
  OBJECT_STORE_CAPABILITIES,
  readByStream,
  type ReadRange,
  type RootProbe,
  type StorageRoot,
  type WriteOptions,
} from "@proximadb/core";
import { type ErrorContext, toFsError } from "./errors.js";
import {
  type AzureAuthMode,
  type AzureFileSystemOptions,
  authModeOf,
  createContainerClient,
} from "./options.js";

/** Sub-requests per Blob Batch request (the service's limit). */
const MAX_BATCH = 256;
/** Bodies up to this size go in one Put Blob; larger ones are staged as blocks by the SDK. */
const SINGLE_PUT_LIMIT = 64 * 1024 * 1024;

/**
 * What Azure Blob Storage does natively on the blob endpoint: server-side Copy Blob + delete (not atomic),
 * `If-None-Match: *` creates, delimiter listings of up to 5,000 keys a page; no append, no fsync.
 */
export const AZURE_CAPABILITIES: FsCapabilities = fsCapabilities(OBJECT_STORE_CAPABILITIES, {
  maxListPageSize: 5000,
  serverSideCopy: true,
});

/**
 * A {@link FileSystem} on Azure Blob Storage for `adls://account/container/prefix` roots.
 *
 * - Listing: `listBlobsFlat` / `listBlobsByHierarchy("/")`, one request per page (1,000 keys by default, up to 5,000).
 * - Writes: one Put Blob for in-memory bodies; `uploadStream` (staged blocks, one commit) for streams, so
 *   memory is bounded and nothing is visible until the commit. `exclusive` sends `If-None-Match: *`.
 * - Move: server-side Copy Blob (same account, authorised by the same credential), then a delete guarded
 *   by the source's ETag. Not atomic: `capabilities.atomicMove` is false. `copyFrom` is the same Copy
 *   Blob from another container or prefix of the same account.
 * - `stat` reports no checksum (`capabilities.checksums` is absent): a blob's `Content-MD5` is a stored
 *   property that Copy Blob carries over from the source (and a client may set), not a checksum the
 *   service computes over the copy's own bytes, so it cannot verify a copy.
 * - deleteMany: Blob Batch (256 deletes per request).
 * - Retries are the SDK's (`retryOptions`); failures are {@link FsError}s mapped from status and code.
 *
 * Credentials live in private fields: they never appear in `util.inspect`, `JSON.stringify` or an error.
 */
export class AzureBlobFileSystem implements FileSystem {
  readonly root: StorageRoot;
  readonly capabilities: FsCapabilities = AZURE_CAPABILITIES;
  /** The account has a hierarchical namespace (as configured; informational). */
  readonly hierarchicalNamespace: boolean;
  /** How the adapter authenticates (the mode only, never the secret). */
  readonly authMode: AzureAuthMode;

  readonly #client: ContainerClient;
  readonly #base: string;
  readonly #blockSize: number;
  readonly #concurrency: number;
  /** Which account, endpoint and way of authenticating this instance uses: equal ones can Copy Blob. */
  readonly #origin: string;
  #batch: BlobBatchClient | undefined;
  readonly #guard: FsGuard;

  /**
   * @param root an `adls://account/container/prefix` root (parsed or as a URL).
   * @param options exactly one way to authenticate, plus endpoint and retry settings.
   * @throws InvalidStorageUrlError for a root that is not `adls://`; InvalidArgumentError for conflicting or
   *   out-of-range options; FsError `Unsupported` for `useDfsRename: true`.
   */
  constructor(root: StorageRoot | string, options: AzureFileSystemOptions) {
    const parsed = assertRootScheme(root, ["adls"], "AzureBlobFileSystem");
    if (options.useDfsRename) {
      throw new FsError(
        "Unsupported",
        "useDfsRename: the DFS rename API is not available through @azure/storage-blob; moves are server-side copy + delete (atomicMove false)",
        { root: parsed.url },
      );
    }
    this.root = parsed;
    this.#guard = new FsGuard(parsed, this.capabilities.maxListPageSize);
    this.authMode = authModeOf(options);
    this.hierarchicalNamespace = options.hierarchicalNamespace ?? false;
    this.#client = createContainerClient(parsed, options, this.authMode);
    this.#base = parsed.prefix ? `${parsed.prefix}/` : "";
    this.#origin = JSON.stringify([parsed.account, new URL(this.#client.url).host, this.authMode]);
    this.#blockSize = intOption(
      "AzureBlobFileSystem",
      "streamBlockSize",
      options.streamBlockSize,
      4 * 1024 * 1024,
    );
    this.#concurrency = intOption("AzureBlobFileSystem", "streamConcurrency", options.streamConcurrency, 4);
  }

  /** Container exists and is reachable. Never creates it. */
  async probe(): Promise<RootProbe> {
    this.#guard.open("probe");
    try {
      return { exists: await this.#client.exists() };
    } catch (err) {
      throw this.#error(err, { op: "probe" });
    }
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ListPage> {
    const maxPageSize = this.#guard.list(prefix, options.pageSize);
    const full = this.#base + prefix;
    const listOptions = { prefix: full, abortSignal: options.signal };
    const pages = options.delimiter
      ? this.#client.listBlobsByHierarchy("/", listOptions).byPage({ maxPageSize })
      : this.#client.listBlobsFlat(listOptions).byPage({ maxPageSize });
    const cut = this.#base.length;
    try {
      for await (const page of pages) {
        options.signal?.throwIfAborted();
        const segment = page.segment as {
          blobItems?: { name: string; properties: { contentLength?: number; lastModified: Date } }[];
          blobPrefixes?: { name: string }[];
        };
        const files: FileEntry[] = (segment.blobItems ?? []).map((b) => ({
          key: b.name.slice(cut),
          size: b.properties.contentLength ?? 0,
          mtimeMs: b.properties.lastModified.getTime(),
        }));
        const prefixes = (segment.blobPrefixes ?? []).map((p) => p.name.slice(cut));
        if (files.length > 0 || prefixes.length > 0) yield { files, prefixes };
      }
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#error(err, { op: "list", key: prefix });
    }
  }

  async stat(key: string): Promise<FileEntry> {
    const blob = this.#blob("stat", key);
    try {
      const p = await blob.getProperties();
      return { key, size: p.contentLength ?? 0, mtimeMs: (p.lastModified ?? new Date(0)).getTime() };
    } catch (err) {
      throw this.#error(err, { op: "stat", key });
    }
  }

  async exists(key: string): Promise<boolean> {
    return existsByStat(this, key);
  }

  /** Reads a key (or a range) into one buffer, through {@link readStream}. */
  async read(key: string, range?: ReadRange): Promise<Uint8Array> {
    return readByStream(this, key, range);
  }

  async *readStream(key: string, range?: ReadRange): AsyncIterable<Uint8Array> {
    const blob = this.#blob("read", key);
    checkReadRange(range, key);
    if (range?.length === 0) {
      // A zero-length range still has to say whether the key exists.
      await this.stat(key);
      return;
    }
    let body: NodeJS.ReadableStream | undefined;
    try {
      // maxRetryRequests: the SDK resumes a broken body from the last byte, pinned to the first ETag.
      const res = await blob.download(range?.offset ?? 0, range?.length, { maxRetryRequests: 5 });
      body = res.readableStreamBody;
    } catch (err) {
      const e = err as { statusCode?: number };
      if (e.statusCode === 416) {
        // Offset at or past the end: an empty read, as on a local file (the key exists, or it would be 404).
        return;
      }
      throw this.#error(err, { op: "read", key });
    }
    if (!body) return;
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (err) {
      throw this.#error(err, { op: "read", key });
    }
  }

  async write(key: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const blob = this.#blob("write", key);
    const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    const exclusive = options.exclusive === true;
    const common = {
      conditions: exclusive ? { ifNoneMatch: "*" } : undefined,
      blobHTTPHeaders: { blobContentType: options.contentType ?? "application/octet-stream" },
      abortSignal: options.signal,
    };
    try {
      if (body.byteLength <= SINGLE_PUT_LIMIT) await blob.upload(body, body.byteLength, common);
      else
        await blob.uploadData(body, {
          ...common,
          blockSize: this.#blockSize,
          concurrency: this.#concurrency,
        });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.#error(err, { op: "write", key, exclusive });
    }
  }

  async writeStream(
    key: string,
    source: AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<{ bytes: number }> {
    const blob = this.#blob("writeStream", key);
    const exclusive = options.exclusive === true;
    let bytes = 0;
    const signal = options.signal;
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of source) {
          signal?.throwIfAborted();
          bytes += chunk.byteLength;
          yield chunk;
        }
      })(),
      { objectMode: false },
    );
    try {
      // Blocks are staged (invisible) and made visible by one Put Block List, which carries the condition.
      await blob.uploadStream(counted, this.#blockSize, this.#concurrency, {
        conditions: exclusive ? { ifNoneMatch: "*" } : undefined,
        blobHTTPHeaders: { blobContentType: options.contentType ?? "application/octet-stream" },
        abortSignal: options.signal,
      });
    } catch (err) {
      counted.destroy();
      if (signal?.aborted) throw signal.reason;
      throw this.#error(err, { op: "writeStream", key, exclusive });
    }
    return { bytes };
  }

  async openAppend(key: string): Promise<AppendHandle> {
    this.#name("openAppend", key);
    throw appendUnsupported(this.root, key);
  }

  /**
   * Server-side copy, then delete of the source guarded by the ETag that was copied: a source rewritten
   * in between is kept (ConditionFailed) rather than lost. Not atomic: a crash between the two steps
   * leaves both keys (never neither).
   */
  async move(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const src = this.#blob("move", from);
    const dst = this.#blob("move", to);
    if (from === to) return moveOntoItself(this, from, options);
    const overwrite = options.overwrite ?? true;
    let etag: string | undefined;
    try {
      etag = (await src.getProperties()).etag;
    } catch (err) {
      throw this.#error(err, { op: "move", key: from });
    }
    await this.#copyBlob(src, dst, {
      op: "move",
      what: `move ${JSON.stringify(from)}`,
      key: to,
      ...(overwrite ? {} : { ifNoneMatch: "*" }),
      ...(etag ? { sourceIfMatch: etag } : {}),
    });
    try {
      await src.delete({ conditions: etag ? { ifMatch: etag } : undefined });
    } catch (err) {
      // Already gone (e.g. a retried delete whose first answer was lost): the move is complete.
      if ((err as { statusCode?: number }).statusCode === 404) return;
      throw this.#error(err, { op: "move", key: from });
    }
  }

  /**
   * Copies `sourceKey` of another container or prefix of the same account (same endpoint and way of
   * authenticating) to `key` with a server-side Copy Blob, polled until done. `false` (nothing copied)
   * for a root of another backend or account.
   */
  async copyFrom(source: FileSystem, sourceKey: string, key: string): Promise<boolean> {
    const dst = this.#blob("copyFrom", key);
    if (!(source instanceof AzureBlobFileSystem) || !(#origin in source) || source.#origin !== this.#origin)
      return false;
    const src = source.#blob("copyFrom", sourceKey);
    await this.#copyBlob(src, dst, { op: "copyFrom", what: `copy from ${source.root.url}`, key });
    return true;
  }

  /** One server-side Copy Blob of `src` onto `dst`, polled until it ends; a copy that fails is `Transient`. */
  async #copyBlob(
    src: BlockBlobClient,
    dst: BlockBlobClient,
    c: { op: string; what: string; key: string; ifNoneMatch?: string; sourceIfMatch?: string },
  ): Promise<void> {
    try {
      const poller = await dst.beginCopyFromURL(src.url, {
        conditions: c.ifNoneMatch ? { ifNoneMatch: c.ifNoneMatch } : undefined,
        sourceConditions: c.sourceIfMatch ? { ifMatch: c.sourceIfMatch } : undefined,
        intervalInMs: 100,
      });
      const done = await poller.pollUntilDone();
      if (done.copyStatus !== undefined && done.copyStatus !== "success") {
        throw new FsError(
          "Transient",
          `azure blob ${c.what} in ${this.root.url}: copy ended ${done.copyStatus}`,
          { key: c.key, root: this.root.url, status: done.copyStatus },
        );
      }
    } catch (err) {
      throw this.#error(err, { op: c.op, key: c.key, exclusive: c.ifNoneMatch !== undefined });
    }
  }

  async delete(key: string): Promise<void> {
    const blob = this.#blob("delete", key);
    try {
      await blob.deleteIfExists();
    } catch (err) {
      throw this.#error(err, { op: "delete", key });
    }
  }

  /** Blob Batch deletes, 256 per request; missing keys are ignored. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    const names = [...new Set(keys)];
    for (const k of names) this.#name("deleteMany", k);
    for (let i = 0; i < names.length; i += MAX_BATCH) {
      await this.#deleteBatch(names.slice(i, i + MAX_BATCH));
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    this.#guard.deletePrefix(prefix);
    let count = 0;
    for await (const page of this.list(prefix)) {
      const keys = page.files.map((f) => f.key);
      await this.deleteMany(keys);
      count += keys.length;
    }
    return count;
  }

  /** Every later call rejects with `ClosedError`. The SDK holds nothing to release (its HTTP agent is shared and unref'd). */
  async close(): Promise<void> {
    this.#guard.close();
  }

  /** Shows the root and the auth mode only. */
  [inspect.custom](): string {
    return `AzureBlobFileSystem { root: ${JSON.stringify(this.root.url)}, auth: ${this.authMode} }`;
  }

  toJSON(): { root: string; authMode: AzureAuthMode } {
    return { root: this.root.url, authMode: this.authMode };
  }

  async #deleteBatch(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    if (keys.length === 1) return this.delete(keys[0] as string);
    this.#batch ??= this.#client.getBlobBatchClient();
    try {
      const res = await this.#batch.deleteBlobs(keys.map((k) => this.#client.getBlobClient(this.#base + k)));
      for (const [i, sub] of res.subResponses.entries()) {
        if (sub.status === 404 || (sub.status >= 200 && sub.status < 300)) continue;
        throw this.#error(
          { statusCode: sub.status, code: sub.errorCode, name: "BatchSubResponse" },
          { op: "deleteMany", key: keys[i] },
        );
      }
    } catch (err) {
      if (err instanceof FsError) throw err;
      throw this.#error(err, { op: "deleteMany" });
    }
  }

  /** The blob name of `key`, once this instance is checked open and `key` names a file (`InvalidKey` otherwise). */
  #name(op: string, key: string): string {
    return this.#base + this.#guard.file(op, key);
  }

  #blob(op: string, key: string): BlockBlobClient {
    return this.#client.getBlockBlobClient(this.#name(op, key));
  }

  #error(err: unknown, ctx: Omit<ErrorContext, "root">): FsError {
    return toFsError(err, { ...ctx, root: this.root.url });
  }
}
