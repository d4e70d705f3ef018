import { type FileEntry, type FileSystem, createXxh64, isFsError, listAll } from "@proximadb/core";
import { MoveError, type MoveSpec, type MovedFile, incomingDir, isMovedPath } from "./layout.js";
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
  /** Files removed from the incoming copy because the source no longer has them. */
  readonly removedFiles: number;
}

interface Copied extends MovedFile {
  /** The source's mtime in the listing made before it was read: a later write changes it. */
  readonly mtimeMs: number;
}

/**
 * The copy of one collection directory (`<collection>/` of the source root) into the destination's
 * incoming area (`_incoming/<collection>/`), pass by pass: the first pass copies everything; each later
 * pass copies only files that are new or whose size or mtime changed since they were copied, and removes
 * copies of files the source lost (a WAL checkpoint, a compaction). Run the last pass with the
 * collection's writes fenced: it then leaves an exact, verified copy.
 *
 * Every file is verified: its bytes are hashed (xxHash64) as they are read from the source, the copy is
 * read back from the destination and hashed again, and both sizes and hashes must match.
 */
export class CollectionCopy {
  readonly #copied = new Map<string, Copied>();

  constructor(
    readonly source: FileSystem,
    readonly target: FileSystem,
    readonly spec: MoveSpec,
  ) {}

  /** The verified files of the copy, sorted by path. */
  files(): MovedFile[] {
    return [...this.#copied.values()]
      .map(({ path, size, xxh64 }) => ({ path, size, xxh64 }))
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
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < due.length && !failed) {
        const { f, path } = due[next++] as (typeof due)[number];
        aborted(o.signal);
        const done = await this.#copyFileIfThere(f, path, o);
        if (!done) continue; // deleted since the listing (a WAL checkpoint, a compaction)
        this.#copied.set(path, done);
        copiedBytes += done.size;
        copiedFiles++;
      }
    };
    const lanes = Math.max(1, Math.min(o.parallelFiles ?? 4, due.length));
    // Every lane ends before a failure is thrown: none may still write into the incoming area after it.
    const settled = await Promise.allSettled(
      Array.from({ length: lanes }, () =>
        worker().catch((err) => {
          failed = true;
          throw err;
        }),
      ),
    );
    const failure = settled.find((r) => r.status === "rejected");
    if (failure) throw (failure as PromiseRejectedResult).reason;
    const gone = [...this.#copied.keys()].filter((p) => !present.has(p));
    if (gone.length > 0) {
      const base = incomingDir(this.spec.collection);
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
      await this.target.delete(`${incomingDir(this.spec.collection)}${path}`, { durable: true });
      return undefined;
    }
  }

  async #copyFile(f: FileEntry, path: string, o: CopyOptions): Promise<Copied> {
    const to = `${incomingDir(this.spec.collection)}${path}`;
    let expected = await this.#serverSideCopy(f, to, o);
    let back = expected && (await hashOf(this.target, to));
    if (expected && back && !same(expected, back)) expected = undefined; // the source changed meanwhile
    if (!expected) {
      expected = await this.#streamCopy(f, to, o);
      back = await hashOf(this.target, to);
    }
    // Independent check on the destination: its own size and a second hash of what it now serves.
    const stat = await this.target.stat(to);
    if (!back || !same(expected, back) || stat.size !== expected.bytes) {
      throw new MoveError(
        "VerifyFailed",
        `copy of ${f.key} to ${to} in ${this.target.root.url} differs from its source (${expected.bytes} bytes, xxh64 ${expected.xxh64}; copy ${stat.size} bytes, xxh64 ${back?.xxh64})`,
        { retryable: true },
      );
    }
    return { path, size: expected.bytes, xxh64: expected.xxh64, mtimeMs: f.mtimeMs };
  }

  /**
   * A server-side copy when the destination offers one for this source (S3 CopyObject across buckets):
   * the source is then hashed by reading it where it is. Undefined when the bytes must be streamed.
   */
  async #serverSideCopy(f: FileEntry, to: string, o: CopyOptions): Promise<Hashed | undefined> {
    if (!this.target.capabilities.serverSideCopy || !this.target.copyFrom) return undefined;
    await o.throttle?.take(f.size);
    if (!(await this.target.copyFrom(this.source, f.key, to))) return undefined;
    o.onBytes?.(f.size);
    aborted(o.signal);
    // The source may have grown since (an open WAL segment): hash exactly the bytes the copy holds.
    const copied = (await this.target.stat(to)).size;
    return hashOf(this.source, f.key, copied);
  }

  /** Streams the file through this process, hashing the source's bytes as they pass. */
  async #streamCopy(f: FileEntry, to: string, o: CopyOptions): Promise<Hashed> {
    const sourceHash = createXxh64();
    let read = 0;
    const source = this.source;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for await (const chunk of source.readStream(f.key)) {
        aborted(o.signal);
        await o.throttle?.take(chunk.byteLength);
        sourceHash.update(chunk);
        read += chunk.byteLength;
        o.onBytes?.(chunk.byteLength);
        yield chunk;
      }
    }
    const { bytes } = await this.target.writeStream(to, chunks(), { durable: true });
    if (bytes !== read)
      throw new MoveError("VerifyFailed", `copy of ${f.key} wrote ${bytes} bytes of ${read}`, {
        retryable: true,
      });
    return { bytes: read, xxh64: sourceHash.digest() };
  }
}

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

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new MoveError("Aborted", "the move was cancelled");
}
