import { createHash } from "node:crypto";
import pLimit from "p-limit";
import { type FileEntry, type FileSystem, createXxh64, isFsError, listAll } from "@proximadb/core";
import { inLanes } from "./lanes.js";
import { MoveError, type MoveSpec, type MovedFile, collectionDir, isMovedPath } from "./layout.js";
import type { Throttle } from "./throttle.js";

/** Options of {@link CollectionCopy.pass}. */
export interface CopyOptions {
  /** Shared bandwidth limit (see {@link Throttle}). */
  readonly throttle?: Throttle;
  /** Told of every chunk copied (bytes). */
  readonly onBytes?: (bytes: number) => void;
  /** Cancels the copy between chunks (`MoveError` `Aborted`). */
  readonly signal?: AbortSignal;
  /** Files copied at once (each streams with bounded memory). Default 4. */
  readonly parallelFiles?: number;
}

/** What one pass found and did. */
export interface CopyPass {
  /** Bytes of every source file (the move's total). */
  readonly totalBytes: number;
  /** Bytes copied by this pass (files new or changed since the previous pass). */
  readonly copiedBytes: number;
  /** Files copied by this pass. */
  readonly copiedFiles: number;
  /** Files removed from the destination's copy because the source no longer has them. */
  readonly removedFiles: number;
}

interface Copied extends MovedFile {
  /** The source's mtime in the listing made before it was read: a later write changes it. */
  readonly mtimeMs: number;
}

/**
 * The copy of one collection directory (`<collection>/` of the source root) into the same keys of the
 * destination (`<collection>/`, guarded by the move marker, see {@link beginMove}), pass by pass: the first pass copies everything; each later
 * pass copies only files that are new or whose size or mtime changed since they were copied, and removes
 * copies of files the source lost (a WAL checkpoint, a compaction). Run the last pass with the
 * collection's writes fenced: it then leaves an exact, verified copy.
 *
 * Every file is verified, by its size and a checksum computed independently on each side: either the
 * checksum both storage servers compute themselves (an S3 single-part ETag, a GCS `md5Hash` or `crc32c`:
 * no byte read back; Azure reports none), or an xxHash64 of the bytes read from the source and read back from
 * the destination. Sizes and checksums must match.
 */
export class CollectionCopy {
  readonly #copied = new Map<string, Copied>();
  /** fsyncs in flight at once: each holds one of libuv's 4 threads, which the copies and hash reads share. */
  readonly #syncs = pLimit(SYNCS_AT_ONCE);

  constructor(
    readonly source: FileSystem,
    readonly target: FileSystem,
    readonly spec: MoveSpec,
  ) {}

  /** The verified files of the copy, sorted by path. */
  files(): MovedFile[] {
    return [...this.#copied.values()]
      .map(({ mtimeMs: _, ...file }) => file)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * One pass (see the class).
   * @throws MoveError `VerifyFailed` (a copy differs from its source), `Aborted`; FsError from either root
   */
  async pass(o: CopyOptions = {}): Promise<CopyPass> {
    const dir = `${this.spec.collection}/`;
    const listed = (await listAll(this.source, dir)).files.filter((f) =>
      isMovedPath(f.key.slice(dir.length)),
    );
    const present = new Set<string>();
    let totalBytes = 0;
    let copiedBytes = 0;
    let copiedFiles = 0;
    const due: { f: FileEntry; path: string }[] = [];
    for (const f of listed) {
      const path = f.key.slice(dir.length);
      present.add(path);
      totalBytes += f.size;
      const known = this.#copied.get(path);
      if (!(known && known.size === f.size && known.mtimeMs === f.mtimeMs)) due.push({ f, path });
    }
    // Every lane ends before a failure is thrown: none may still write into the copy after it.
    await inLanes(due, o.parallelFiles ?? 4, async ({ f, path }) => {
      aborted(o.signal);
      const done = await this.#copyFileIfThere(f, path, o);
      if (!done) return; // deleted since the listing (a WAL checkpoint, a compaction)
      this.#copied.set(path, done);
      copiedBytes += done.size;
      copiedFiles++;
    });
    const gone = [...this.#copied.keys()].filter((p) => !present.has(p));
    if (gone.length > 0) {
      const base = collectionDir(this.spec.collection);
      await this.target.deleteMany(
        gone.map((p) => `${base}${p}`),
        { durable: true },
      );
      for (const p of gone) this.#copied.delete(p);
    }
    return { totalBytes, copiedBytes, copiedFiles, removedFiles: gone.length };
  }

  /** {@link #copyFile}, or undefined when the source file vanished meanwhile (its copy removed too). */
  async #copyFileIfThere(f: FileEntry, path: string, o: CopyOptions): Promise<Copied | undefined> {
    try {
      return await this.#copyFile(f, path, o);
    } catch (err) {
      if (!isFsError(err, "NotFound") || (await this.source.exists(f.key))) throw err;
      this.#copied.delete(path);
      await this.target.delete(`${collectionDir(this.spec.collection)}${path}`, { durable: true });
      return undefined;
    }
  }

  async #copyFile(f: FileEntry, path: string, o: CopyOptions): Promise<Copied> {
    const to = `${collectionDir(this.spec.collection)}${path}`;
    const verified = (await this.#serverSideCopy(f, to, o)) ?? (await this.#streamCopy(f, to, o));
    return { path, ...verified, mtimeMs: f.mtimeMs };
  }

  /** The checksum algorithms both servers compute themselves (see `FsCapabilities.checksums`). */
  #sharedChecksums(): boolean {
    const theirs = this.source.capabilities.checksums ?? [];
    return (this.target.capabilities.checksums ?? []).some((a) => theirs.includes(a));
  }

  /**
   * A server-side copy when the destination offers one for this source (S3 CopyObject across buckets,
   * GCS rewrite, Azure Copy Blob, a kernel copy on disk), verified one of two ways:
   * - both servers report a checksum of their own object: the source's, taken before the copy (from its
   *   listing, or `stat`), and the copy's (from the copy's response, or `stat`) must be of one algorithm
   *   and equal, and the sizes too — no byte is read;
   * - otherwise both sides are read and hashed (xxHash64): the source while the copy runs, the copy after —
   *   on a disk that syncs later ({@link FileSystem.sync}) while the copy's fsync runs (it is durable before
   *   the file counts as copied).
   * Undefined when the bytes must be streamed (no copy for this pair, or the source changed meanwhile).
   */
  async #serverSideCopy(f: FileEntry, to: string, o: CopyOptions): Promise<Verified | undefined> {
    if (!this.target.capabilities.serverSideCopy || !this.target.copyFrom) return undefined;
    await o.throttle?.take(f.size);
    const byChecksum = this.#sharedChecksums();
    // The source's checksum from its listing where the listing has one (S3), else from a stat.
    const before = byChecksum ? (f.checksum ? f : await this.source.stat(f.key)) : undefined;
    // Without server checksums the source is read anyway: read it while the copy runs.
    const early = byChecksum ? undefined : settle(hashOf(this.source, f.key, f.size));
    // A disk that can sync later copies without fsync, so the copy's fsync runs while it is hashed.
    const sync = byChecksum ? undefined : this.target.sync?.bind(this.target);
    // The listing's entry spares S3 a HEAD per file (its copy is still conditional on the listed ETag).
    const done = await this.target.copyFrom(this.source, f.key, to, {
      durable: sync === undefined,
      sourceEntry: f,
    });
    if (!done) {
      await early;
      return undefined;
    }
    // Started now, awaited below: never left unawaited (a failure is thrown once the lane is done).
    const synced = sync && settle(this.#syncs(() => sync([to])));
    try {
      o.onBytes?.(f.size);
      aborted(o.signal);
      // The copy's own entry where the copy request reported it (S3's CopyObjectResult), else a stat.
      const copied = typeof done === "object" && done.checksum ? done : await this.target.stat(to);
      if (
        before?.checksum &&
        copied.checksum &&
        before.size === copied.size &&
        before.checksum.algorithm === copied.checksum.algorithm &&
        before.checksum.value === copied.checksum.value
      )
        return { size: copied.size, checksum: copied.checksum };
      // The source may have grown since the listing (an open WAL segment): hash exactly the bytes the copy holds.
      const hashed = await early;
      const [source, back] = await Promise.all([
        hashed?.ok && hashed.value.bytes === copied.size
          ? hashed.value
          : hashOf(this.source, f.key, copied.size),
        hashOf(this.target, to),
      ]);
      if (!same(source, back) || back.bytes !== copied.size) return undefined; // the source changed meanwhile
      const durable = await synced;
      if (durable?.ok === false) throw durable.error;
      return { size: back.bytes, xxh64: back.xxh64 };
    } finally {
      await synced; // a copy given up on (streamed again, or a failure) is not synced in the background
    }
  }

  /**
   * Streams the file through this process, hashing the source's bytes as they pass (xxHash64, and MD5
   * when the destination computes one itself), then checks the copy: by the destination's own MD5 when
   * it reports one, else by reading it back and hashing it again.
   */
  async #streamCopy(f: FileEntry, to: string, o: CopyOptions): Promise<Verified> {
    const sourceHash = createXxh64();
    const md5 = this.target.capabilities.checksums?.includes("md5") ? createHash("md5") : undefined;
    let read = 0;
    const source = this.source;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source.readStream(f.key)) {
        aborted(o.signal);
        await o.throttle?.take(chunk.byteLength);
        sourceHash.update(chunk);
        md5?.update(chunk);
        read += chunk.byteLength;
        o.onBytes?.(chunk.byteLength);
        yield chunk;
      }
    }
    const { bytes } = await this.target.writeStream(to, chunks(), { durable: true });
    const expected = { bytes: read, xxh64: sourceHash.digest() };
    const sourceMd5 = md5?.digest("hex");
    const stat = await this.target.stat(to);
    if (bytes === read && stat.size === read && stat.checksum?.algorithm === "md5" && sourceMd5) {
      if (stat.checksum.value === sourceMd5) return { size: read, checksum: stat.checksum };
    } else if (bytes === read && stat.size === read) {
      // Independent check on the destination: a second hash of what it now serves.
      const back = await hashOf(this.target, to);
      if (same(expected, back)) return { size: read, xxh64: expected.xxh64 };
    }
    throw new MoveError(
      "VerifyFailed",
      `copy of ${f.key} to ${to} in ${this.target.root.url} differs from its source (${read} bytes, xxh64 ${expected.xxh64}; copy ${stat.size} bytes)`,
      { retryable: true },
    );
  }
}

/** See {@link CollectionCopy}'s fsync limit. */
const SYNCS_AT_ONCE = 2;

/** What a copy was verified by (see {@link MovedFile}). */
type Verified = Omit<MovedFile, "path">;

interface Hashed {
  readonly bytes: number;
  readonly xxh64: string;
}

const same = (a: Hashed, b: Hashed) => a.bytes === b.bytes && a.xxh64 === b.xxh64;

/** Size and xxHash64 of a file (its first `length` bytes) as its root serves it now (streamed). */
async function hashOf(fs: FileSystem, key: string, length?: number): Promise<Hashed> {
  const h = createXxh64();
  let bytes = 0;
  const range = length === undefined ? undefined : { offset: 0, length };
  if (length === 0) return { bytes: 0, xxh64: h.digest() };
  for await (const chunk of fs.readStream(key, range)) {
    h.update(chunk);
    bytes += chunk.byteLength;
  }
  return { bytes, xxh64: h.digest() };
}

/** The promise's outcome, never rejecting (so a lane may drop it without an unhandled rejection). */
function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MoveError("Aborted", "the move was cancelled");
}
