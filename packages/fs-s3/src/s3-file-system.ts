import { Readable } from "node:stream";
import {
  CopyObjectCommand,
  type CopyObjectCommandOutput,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import {
  type AppendHandle,
  type CopyFromOptions,
  appendUnsupported,
  assertRootScheme,
  checkReadRange,
  existsByStat,
  type FileChecksum,
  type FileEntry,
  type FileSystem,
  type FsCapabilities,
  FsError,
  FsGuard,
  fsCapabilities,
  InvalidArgumentError,
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
import { encodeCopySource, MAX_COPY_OBJECT_BYTES } from "./copy-source.js";
import { classifyS3Error, type S3ErrorContext, toFsError } from "./errors.js";
import { DEFAULT_S3_BACKOFF, S3BackoffRetryStrategy } from "./retry.js";

const MiB = 1024 * 1024;
/** Smallest part S3 accepts (every part but the last). */
const MIN_PART_BYTES = 5 * MiB;
/** Keys per ListObjectsV2 page and per DeleteObjects request: S3's hard limit. */
const S3_PAGE = 1000;

/** Options of {@link S3FileSystem}: either a ready `client`, or the settings to build one. */
export interface S3FileSystemOptions {
  /**
   * A configured client to use instead of building one. It is shared, not owned: `close()` leaves it
   * open. The settings below that configure a client are then ignored.
   */
  readonly client?: S3Client;
  /** Custom endpoint (S3-compatible servers, emulators). Default: AWS, from the region. */
  readonly endpoint?: string;
  /** Region. Default: the SDK's chain (`AWS_REGION`, profile). */
  readonly region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), needed by most emulators. Default `false`. */
  readonly forcePathStyle?: boolean;
  /**
   * Static credentials or a provider. Default: the SDK's default chain (environment, profile, SSO,
   * instance metadata). Never stored on the file system object, never shown in errors or logs.
   */
  readonly credentials?: S3ClientConfig["credentials"];
  /** Total attempts per request, the first included. Default 8 (with 100 ms–2 s waits: at most about 7 s in all). */
  readonly maxAttempts?: number;
  /**
   * Which retry strategy the client uses. `"backoff"` (default): {@link S3BackoffRetryStrategy}, jittered
   * exponential backoff from `retryBaseDelayMs` up to `maxRetryDelayMs`, at least the server's
   * `Retry-After`. `"standard"` / `"adaptive"`: the SDK's own modes (a 1 s base delay for throttling
   * errors; `adaptive` also rate-limits the client's sending after throttling).
   */
  readonly retryMode?: "backoff" | "standard" | "adaptive";
  /** `"backoff"` mode: cap of the first retry's (jittered) delay in ms, doubled per retry. Default 100. */
  readonly retryBaseDelayMs?: number;
  /** `"backoff"` mode: cap of any backoff delay in ms. Default 2,000. */
  readonly maxRetryDelayMs?: number;
  /** `"backoff"` mode: the longest `Retry-After` honoured, in ms. Default 30,000. */
  readonly maxRetryAfterMs?: number;
  /** SDK checksum setting; emulators such as s3rver need `"WHEN_REQUIRED"`. */
  readonly requestChecksumCalculation?: S3ClientConfig["requestChecksumCalculation"];
  /** SDK checksum setting; emulators such as s3rver need `"WHEN_REQUIRED"`. */
  readonly responseChecksumValidation?: S3ClientConfig["responseChecksumValidation"];
  /** `write()` bodies of at least this many bytes go as multipart uploads. Default 8 MiB (minimum 5 MiB). */
  readonly multipartThresholdBytes?: number;
  /** Part size of multipart uploads. Default 8 MiB (minimum 5 MiB). */
  readonly partSizeBytes?: number;
  /** Parts uploaded in parallel. Memory held by one upload is about `partSizeBytes × (queueSize + 1)`. Default 4. */
  readonly queueSize?: number;
  /**
   * Before an exclusive create, check with a HEAD that the key is absent. `If-None-Match: *` is sent
   * either way and is what makes racing creates safe on AWS; the HEAD gives the right answer for
   * sequential creates on S3-compatible servers that ignore the header (s3rver, older MinIO/Ceph).
   * Default `true` (one extra request per exclusive create).
   */
  readonly exclusiveCreatePrecheck?: boolean;
}

/**
 * What S3 does natively. Moves are server-side `CopyObject` + `DeleteObject`: no bytes pass through
 * this process, but the move is not atomic (for a moment both keys exist; a failure between the two
 * steps leaves both, and repeating the move finishes it). Exclusive creates use `If-None-Match: *`,
 * which AWS enforces. There is no append, and no fsync: a successful PUT is durable.
 */
export const S3_CAPABILITIES: FsCapabilities = fsCapabilities(OBJECT_STORE_CAPABILITIES, {
  maxListPageSize: S3_PAGE,
  serverSideCopy: true,
  checksums: ["md5"],
});

/**
 * The MD5 an S3 server computed over an object, from its ETag: only a single-part object's ETag that is
 * not encrypted with a KMS or customer key is its MD5 (a multipart ETag is `<md5 of part md5s>-<parts>`).
 */
export function md5FromEtag(head: {
  ETag?: string | undefined;
  ServerSideEncryption?: string | undefined;
  SSECustomerAlgorithm?: string | undefined;
}): FileChecksum | undefined {
  const etag = head.ETag?.replace(/^"|"$/g, "").toLowerCase();
  if (!etag || !/^[0-9a-f]{32}$/.test(etag)) return undefined;
  if (head.SSECustomerAlgorithm || head.ServerSideEncryption?.startsWith("aws:kms")) return undefined;
  return { algorithm: "md5", value: etag };
}

const positiveInt = (name: string, value: number | undefined, fallback: number, min = 1) =>
  intOption("S3FileSystem", name, value, fallback, min);

/**
 * S3 counts files and common prefixes together against `MaxKeys`; some S3-compatible servers (s3rver)
 * count only files and return any number of prefixes. Re-cut such a page, in key order, into pages of at
 * most `max` entries so that `pageSize` holds on every server. Empty pages are dropped.
 */
function* splitPage(files: FileEntry[], prefixes: string[], max: number): Generator<ListPage> {
  if (files.length + prefixes.length <= max) {
    if (files.length > 0 || prefixes.length > 0) yield { files, prefixes };
    return;
  }
  let f = 0;
  let p = 0;
  while (f < files.length || p < prefixes.length) {
    const page: ListPage = { files: [], prefixes: [] };
    const out = page as { files: FileEntry[]; prefixes: string[] };
    for (let n = 0; n < max && (f < files.length || p < prefixes.length); n++) {
      const file = files[f];
      const prefix = prefixes[p];
      if (
        prefix === undefined ||
        (file !== undefined && Buffer.compare(Buffer.from(file.key), Buffer.from(prefix)) < 0)
      ) {
        out.files.push(file as FileEntry);
        f++;
      } else {
        out.prefixes.push(prefix);
        p++;
      }
    }
    yield page;
  }
}

/**
 * A {@link FileSystem} over one `s3://bucket/prefix` root, on `@aws-sdk/client-s3`.
 *
 * Keys are stored as `<prefix>/<key>`. Listing is paginated `ListObjectsV2` (flat, or delimiter `/`);
 * bodies of `multipartThresholdBytes` or more are multipart uploads (streamed, never buffered whole);
 * exclusive creates send `If-None-Match: *`; moves are server-side copy + delete; batch deletes use
 * `DeleteObjects` in pages of 1,000. Errors are {@link FsError}s classified by HTTP status and error name;
 * retries are the SDK's, with {@link S3BackoffRetryStrategy} by default (see `retryMode`).
 *
 * @example
 * const fs = new S3FileSystem("s3://wal-bucket/proximadb", { region: "eu-west-1" });
 * await fs.write("coll-a/seg-1.avro", bytes, { exclusive: true });
 */
export class S3FileSystem implements FileSystem {
  readonly root: StorageRoot;
  readonly capabilities: FsCapabilities = S3_CAPABILITIES;
  readonly #client: S3Client;
  readonly #ownsClient: boolean;
  /** Which server and account this instance talks to: two instances with the same one can CopyObject. */
  readonly #origin: unknown;
  readonly #bucket: string;
  readonly #base: string;
  readonly #threshold: number;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #precheck: boolean;
  readonly #guard: FsGuard;

  /**
   * @throws InvalidStorageUrlError for a root that is not `s3://`
   * @throws InvalidArgumentError for a numeric option out of range
   */
  constructor(root: StorageRoot | string, options: S3FileSystemOptions = {}) {
    const parsed = assertRootScheme(root, ["s3"], "S3FileSystem");
    this.root = parsed;
    this.#guard = new FsGuard(parsed, S3_PAGE);
    this.#bucket = parsed.bucket as string;
    this.#base = parsed.prefix === "" ? "" : `${parsed.prefix}/`;
    this.#threshold = positiveInt(
      "multipartThresholdBytes",
      options.multipartThresholdBytes,
      8 * MiB,
      MIN_PART_BYTES,
    );
    this.#partSize = positiveInt("partSizeBytes", options.partSizeBytes, 8 * MiB, MIN_PART_BYTES);
    this.#queueSize = positiveInt("queueSize", options.queueSize, 4);
    this.#precheck = options.exclusiveCreatePrecheck ?? true;
    this.#origin = options.client ?? originOf(options);
    if (options.client) {
      this.#client = options.client;
      this.#ownsClient = false;
    } else {
      const config: S3ClientConfig = retryConfig(options);
      if (options.endpoint !== undefined) config.endpoint = options.endpoint;
      if (options.region !== undefined) config.region = options.region;
      if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
      if (options.credentials !== undefined) config.credentials = options.credentials;
      if (options.requestChecksumCalculation !== undefined)
        config.requestChecksumCalculation = options.requestChecksumCalculation;
      if (options.responseChecksumValidation !== undefined)
        config.responseChecksumValidation = options.responseChecksumValidation;
      this.#client = new S3Client(config);
      this.#ownsClient = true;
    }
  }

  /** Checks with `HeadBucket` that the bucket exists and is reachable. Never creates it. */
  async probe(): Promise<RootProbe> {
    this.#guard.open("probe");
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
      return { exists: true };
    } catch (err) {
      const fsErr = toFsError(err, { op: "probe", root: this.root.url });
      if (fsErr.kind === "NotFound") return { exists: false };
      throw fsErr;
    }
  }

  /**
   * Lists keys under `prefix` with `ListObjectsV2`, following continuation tokens. `pageSize` becomes
   * `MaxKeys` (at most 1,000). In delimiter mode each common prefix is yielded once even when a server
   * repeats it across pages.
   */
  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<ListPage> {
    const maxKeys = this.#guard.list(prefix, options.pageSize);
    const base = this.#base;
    let token: string | undefined;
    let lastPrefix: string | undefined;
    do {
      options.signal?.throwIfAborted();
      const out = await this.#call(
        { op: "list", root: this.root.url, key: prefix, signal: options.signal },
        () =>
          this.#client.send(
            new ListObjectsV2Command({
              Bucket: this.#bucket,
              Prefix: base + prefix,
              Delimiter: options.delimiter ? "/" : undefined,
              MaxKeys: maxKeys,
              ContinuationToken: token,
            }),
            { abortSignal: options.signal },
          ),
      );
      const files: FileEntry[] = [];
      for (const o of out.Contents ?? []) {
        if (o.Key === undefined || !o.Key.startsWith(base)) continue;
        // The ETag in MD5 form (see `FileEntry.checksum`: a listing shows no encryption headers).
        const checksum = md5FromEtag({ ETag: o.ETag });
        files.push({
          key: o.Key.slice(base.length),
          size: o.Size ?? 0,
          mtimeMs: o.LastModified?.getTime() ?? 0,
          ...(checksum ? { checksum } : {}),
        });
      }
      const prefixes: string[] = [];
      for (const p of out.CommonPrefixes ?? []) {
        if (p.Prefix === undefined || !p.Prefix.startsWith(base)) continue;
        const rel = p.Prefix.slice(base.length);
        // S3 returns prefixes in ascending order; some emulators repeat one on the next page.
        if (lastPrefix !== undefined && rel <= lastPrefix) continue;
        prefixes.push(rel);
        lastPrefix = rel;
      }
      yield* splitPage(files, prefixes, maxKeys);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * Size and mtime from `HeadObject`, and the object's MD5 when its ETag is one (see {@link md5FromEtag});
   * throws `NotFound`.
   */
  async stat(key: string): Promise<FileEntry> {
    this.#key("stat", key);
    const out = await this.#call({ op: "stat", root: this.root.url, key }, () =>
      this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#base + key })),
    );
    const checksum = md5FromEtag(out);
    return {
      key,
      size: out.ContentLength ?? 0,
      mtimeMs: out.LastModified?.getTime() ?? 0,
      ...(checksum ? { checksum } : {}),
    };
  }

  async exists(key: string): Promise<boolean> {
    return existsByStat(this, key);
  }

  /** Reads a key (or a range: `Range: bytes=…`). A range starting at or past the end reads nothing. */
  async read(key: string, range?: ReadRange): Promise<Uint8Array> {
    return readByStream(this, key, range);
  }

  /** Streams a key (or a range) from `GetObject` without buffering it whole. */
  async *readStream(key: string, range?: ReadRange): AsyncIterable<Uint8Array> {
    this.#key("read", key);
    checkReadRange(range, key);
    const header = rangeHeader(range);
    const ctx: S3ErrorContext = { op: "read", root: this.root.url, key };
    if (header === null) {
      await this.stat(key); // zero-length range: nothing to read, but the key must exist
      return;
    }
    let body: Readable;
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#base + key, Range: header }),
      );
      body = out.Body as Readable;
    } catch (err) {
      if (classifyS3Error(err).status === 416) {
        await this.stat(key); // offset at or past the end: empty, provided the key exists
        return;
      }
      throw toFsError(err, ctx);
    }
    try {
      for await (const chunk of body) yield chunk as Uint8Array;
    } catch (err) {
      throw toFsError(err, ctx);
    }
  }

  /** Writes a whole key: one `PutObject`, or a multipart upload from `multipartThresholdBytes` on. */
  async write(key: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    this.#key("write", key);
    const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    await this.#checkAbsent(key, options);
    if (body.byteLength < this.#threshold) await this.#put(key, body, options);
    else await this.#multipart(key, body, options);
  }

  /**
   * Writes a key from a stream through `@aws-sdk/lib-storage`: a body that fits in one part
   * (`partSizeBytes`) is one `PutObject`; a larger one becomes a multipart upload fed part by part, holding
   * about `partSizeBytes × (queueSize + 2)` bytes. The object only appears when the upload completes, so a
   * failed or aborted write never leaves a partial object (the upload is aborted on failure).
   */
  async writeStream(
    key: string,
    source: AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<{ bytes: number }> {
    this.#key("writeStream", key);
    await this.#checkAbsent(key, options);
    let bytes = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    }
    await this.#multipart(key, Readable.from(counted(), { objectMode: false }), options);
    return { bytes };
  }

  /** Always throws `Unsupported`: objects cannot be appended to (`capabilities.append` is false). */
  async openAppend(key: string): Promise<AppendHandle> {
    this.#key("openAppend", key);
    throw appendUnsupported(this.root, key);
  }

  /**
   * Moves `from` to `to` by server-side `CopyObject` then `DeleteObject`: not atomic (see
   * {@link S3_CAPABILITIES}). With `overwrite: false` the copy carries `If-None-Match: *` (after a HEAD
   * check, see `exclusiveCreatePrecheck`). Objects over 5 GiB are refused with `Unsupported`
   * (a single CopyObject cannot copy them; multipart UploadPartCopy is not implemented).
   */
  async move(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    this.#key("move", from);
    this.#key("move", to);
    if (from === to) return moveOntoItself(this, from, options);
    const source = await this.stat(from);
    if (source.size > MAX_COPY_OBJECT_BYTES) {
      throw new FsError(
        "Unsupported",
        `S3 move ${this.root.url}/${from}: objects over 5 GiB need a multipart copy, which this adapter does not do`,
        { key: from, root: this.root.url },
      );
    }
    const overwrite = options.overwrite ?? true;
    if (!overwrite) await this.#checkAbsent(to, { exclusive: true });
    await this.#call({ op: "move", root: this.root.url, key: to, exclusiveCreate: !overwrite }, () =>
      this.#client.send(
        new CopyObjectCommand({
          Bucket: this.#bucket,
          Key: this.#base + to,
          CopySource: encodeCopySource(this.#bucket, this.#base + from),
          IfNoneMatch: overwrite ? undefined : "*",
        }),
      ),
    );
    await this.delete(from);
  }

  /**
   * Copies `sourceKey` of another S3 root on the same endpoint and account (another bucket or prefix) to
   * `key` with one server-side `CopyObject`, and resolves the copy's entry: the size of the source
   * (`HeadObject` before the copy) and the copy's mtime and MD5 from `CopyObjectResult` (the ETag S3
   * computed over the new object, see {@link md5FromEtag}), or `true` when the response has no ETag.
   * `false` (nothing copied) for a root of another backend, endpoint or account, and for objects over 5 GiB.
   */
  async copyFrom(
    source: FileSystem,
    sourceKey: string,
    key: string,
    options: CopyFromOptions = {},
  ): Promise<boolean | FileEntry> {
    this.#key("copyFrom", key);
    if (
      !(source instanceof S3FileSystem) ||
      !(#origin in source) ||
      !sameOrigin(source.#origin, this.#origin)
    )
      return false;
    source.#key("copyFrom", sourceKey);
    // The caller's listing of the source where it has the ETag (the copy is conditional on it), else a HEAD.
    const listed = options.sourceEntry;
    const stat =
      listed?.key === sourceKey && listed.checksum?.algorithm === "md5"
        ? listed
        : await source.stat(sourceKey);
    if (stat.size > MAX_COPY_OBJECT_BYTES) return false;
    // Copy exactly the version stat saw (so its size is the copy's), where its ETag is known.
    const ifMatch = stat.checksum ? `"${stat.checksum.value}"` : undefined;
    let out: CopyObjectCommandOutput;
    try {
      out = await this.#call({ op: "copyFrom", root: this.root.url, key }, () =>
        this.#client.send(
          new CopyObjectCommand({
            Bucket: this.#bucket,
            Key: this.#base + key,
            CopySource: encodeCopySource(source.#bucket, source.#base + sourceKey),
            CopySourceIfMatch: ifMatch,
          }),
        ),
      );
    } catch (err) {
      // The source changed since the stat: nothing copied; the caller streams what it holds now.
      if (ifMatch && err instanceof FsError && err.kind === "ConditionFailed") return false;
      throw err;
    }
    const result = out.CopyObjectResult;
    // Another version than the one asked for (a server that ignores `CopySourceIfMatch`): copied, but
    // its entry is not the one the stat or listing gave; the caller stats the copy.
    if (!ifMatch || !result?.ETag || result.ETag !== ifMatch) return true;
    const checksum = md5FromEtag({
      ETag: result.ETag,
      ServerSideEncryption: out.ServerSideEncryption,
      SSECustomerAlgorithm: out.SSECustomerAlgorithm,
    });
    return {
      key,
      size: stat.size,
      mtimeMs: result.LastModified?.getTime() ?? stat.mtimeMs,
      ...(checksum ? { checksum } : {}),
    };
  }

  /** Deletes a key; a missing key is not an error (a missing bucket is `NotFound`). */
  async delete(key: string): Promise<void> {
    this.#key("delete", key);
    await this.#call({ op: "delete", root: this.root.url, key }, async () => {
      try {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#base + key }));
      } catch (err) {
        const { kind, name } = classifyS3Error(err);
        if (kind === "NotFound" && name !== "NoSuchBucket") return;
        throw err;
      }
    });
  }

  /** Deletes keys with `DeleteObjects`, 1,000 per request. Missing keys are not errors. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.#key("deleteMany", k);
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += S3_PAGE) await this.#deleteBatch(unique.slice(i, i + S3_PAGE));
  }

  /** Deletes every key under `prefix` (non-empty, ending with `/`), one listing page at a time; returns the count. */
  async deletePrefix(prefix: string): Promise<number> {
    this.#guard.deletePrefix(prefix);
    let count = 0;
    for await (const page of this.list(prefix)) {
      const keys = page.files.map((f) => f.key);
      await this.#deleteBatch(keys);
      count += keys.length;
    }
    return count;
  }

  /**
   * Destroys the client this instance built (a client passed in `options.client` is left open). Every later
   * call rejects with `ClosedError`; closing again does nothing.
   */
  async close(): Promise<void> {
    if (this.#guard.close() && this.#ownsClient) this.#client.destroy();
  }

  /** `S3FileSystem(s3://bucket/prefix)`: never a credential. */
  toString(): string {
    return `S3FileSystem(${this.root.url})`;
  }

  toJSON(): { type: string; root: string } {
    return { type: "S3FileSystem", root: this.root.url };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  /** Checks that this instance is open and `key` names an object (`InvalidKey` otherwise). */
  #key(op: string, key: string): void {
    this.#guard.file(op, key);
  }

  /** Runs one SDK call; its failure becomes an {@link FsError}, an abort by `ctx.signal` its reason. */
  async #call<T>(ctx: S3ErrorContext & { signal?: AbortSignal }, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (ctx.signal?.aborted) throw ctx.signal.reason;
      throw toFsError(err, ctx);
    }
  }

  async #checkAbsent(key: string, options: WriteOptions): Promise<void> {
    if (!options.exclusive || !this.#precheck) return;
    if (await this.exists(key)) {
      throw new FsError("AlreadyExists", `S3 write ${this.root.url}/${key} failed: key already exists`, {
        key,
        root: this.root.url,
      });
    }
  }

  /** The error context of a write: an exclusive create's 412/409 means AlreadyExists; an abort is the signal's. */
  #writeCtx(key: string, options: WriteOptions): S3ErrorContext & { signal?: AbortSignal } {
    return {
      op: "write",
      root: this.root.url,
      key,
      exclusiveCreate: options.exclusive === true,
      signal: options.signal,
    };
  }

  async #put(key: string, body: Uint8Array, options: WriteOptions): Promise<void> {
    await this.#call(this.#writeCtx(key, options), () =>
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#base + key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType,
          IfNoneMatch: options.exclusive ? "*" : undefined,
        }),
        { abortSignal: options.signal },
      ),
    );
  }

  async #multipart(key: string, body: Uint8Array | Readable, options: WriteOptions): Promise<void> {
    const upload = new Upload({
      client: this.#client,
      params: {
        Bucket: this.#bucket,
        Key: this.#base + key,
        Body: body,
        ContentType: options.contentType,
        // Upload passes its params to CompleteMultipartUpload, where AWS enforces the condition.
        IfNoneMatch: options.exclusive ? "*" : undefined,
      },
      partSize: this.#partSize,
      queueSize: this.#queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      options.signal?.throwIfAborted();
      await this.#call(this.#writeCtx(key, options), () => upload.done());
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      if (body instanceof Readable) body.destroy();
    }
  }

  async #deleteBatch(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const out = await this.#call({ op: "deleteMany", root: this.root.url }, () =>
      this.#client.send(
        new DeleteObjectsCommand({
          Bucket: this.#bucket,
          Delete: { Objects: keys.map((k) => ({ Key: this.#base + k })), Quiet: true },
        }),
      ),
    );
    const failed = (out.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
    const first = failed[0];
    if (first !== undefined) {
      const key = first.Key?.startsWith(this.#base) ? first.Key.slice(this.#base.length) : first.Key;
      // Per-key failures come back in a 200 response: classify them by their S3 error code.
      const synthetic = { name: first.Code, $metadata: {} };
      throw toFsError(synthetic, {
        op: `deleteMany (${failed.length} of ${keys.length} keys failed)`,
        root: this.root.url,
        key,
      });
    }
  }
}

/** The retry part of the client's configuration (see {@link S3FileSystemOptions.retryMode}). */
function retryConfig(o: S3FileSystemOptions): S3ClientConfig {
  const maxAttempts = positiveInt("maxAttempts", o.maxAttempts, 8);
  const mode = o.retryMode ?? "backoff";
  if (mode !== "backoff") {
    if (mode !== "standard" && mode !== "adaptive")
      throw new InvalidArgumentError(`S3FileSystem: retryMode must be "backoff", "standard" or "adaptive"`);
    return { maxAttempts, retryMode: mode };
  }
  const strategy = new S3BackoffRetryStrategy({
    maxAttempts,
    baseDelayMs: positiveInt("retryBaseDelayMs", o.retryBaseDelayMs, DEFAULT_S3_BACKOFF.baseDelayMs, 0),
    maxDelayMs: positiveInt("maxRetryDelayMs", o.maxRetryDelayMs, DEFAULT_S3_BACKOFF.maxDelayMs, 0),
    maxRetryAfterMs: positiveInt("maxRetryAfterMs", o.maxRetryAfterMs, DEFAULT_S3_BACKOFF.maxRetryAfterMs, 0),
  });
  return { maxAttempts, retryStrategy: strategy as unknown as S3ClientConfig["retryStrategy"] };
}

/** `bytes=a-b` for a (checked) range, `undefined` for the whole object, `null` for an empty range. */
function rangeHeader(range: ReadRange | undefined): string | undefined | null {
  if (range === undefined) return undefined;
  const { offset, length } = range;
  if (length === 0) return null;
  return length === undefined ? `bytes=${offset}-` : `bytes=${offset}-${offset + length - 1}`;
}

/** The server and account of options without a shared client (no secret kept: the key id only). */
function originOf(o: S3FileSystemOptions): string {
  const creds = o.credentials as { accessKeyId?: unknown } | undefined;
  return JSON.stringify([
    o.endpoint === undefined ? null : String(o.endpoint),
    o.region ?? null,
    o.forcePathStyle ?? false,
    typeof creds?.accessKeyId === "string" ? creds.accessKeyId : creds === undefined ? null : "provider",
  ]);
}

function sameOrigin(a: unknown, b: unknown): boolean {
  return a === b;
}
