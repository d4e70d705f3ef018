import { randomBytes } from "node:crypto";
import * as nodeFs from "node:fs";
import type { FileHandle } from "node:fs/promises";
import {
  type AppendHandle,
  type CopyFromOptions,
  type DeleteOptions,
  type FileEntry,
  type FileSystem,
  type FileSystemProvider,
  type FsCapabilities,
  FsError,
  FsGuard,
  type ListOptions,
  type ListPage,
  type PositionalReader,
  type ReadRange,
  type RootProbe,
  type StorageRoot,
  type WriteOptions,
  assertRootScheme,
  checkReadRange,
  deleteManyBounded,
  existsByStat,
  fsCapabilities,
  moveOntoItself,
} from "@proximadb/core";
import { errnoOf, toFsError } from "./errors.js";
import type { FsModule, FsPromisesModule } from "./fs-module.js";
import { DescriptorReader, type DescriptorIo, LocalAppendHandle, descriptorIo, readAt } from "./handles.js";
import { baseOf, parentOf, splitPrefix } from "./keys.js";
import {
  FolderWalker,
  type ListingIo,
  STAT_DONE,
  STAT_FAILED,
  STAT_WINDOW,
  type StatSlot,
  StatWindow,
  type WalkItem,
  listingIo,
} from "./listing.js";

/**
 * Options of {@link LocalFileSystem.list}: the contract's {@link ListOptions} plus `sizes`.
 *
 * `sizes: false` lists names only: each file's `size` and `mtimeMs` are `NaN` (not read), and no file is
 * statted — folder reads alone, one `readdir` per folder. For callers that recognise files by name
 * (discovery's `detail: "names"`). Other adapters ignore the option (their listings carry sizes for free).
 */
export interface LocalListOptions extends ListOptions {
  readonly sizes?: boolean;
}

/** Options of {@link LocalFileSystem}. */
export interface LocalFileSystemOptions {
  /** The file-system module to use (default `node:fs`); memfs's `fs` plugs in here. */
  readonly fs?: FsModule;
  /** Capability overrides, for adapters built on this one (e.g. fs-memory, whose fsync is a no-op). */
  readonly capabilities?: Partial<FsCapabilities>;
}

/** What the local disk does natively. */
export const LOCAL_CAPABILITIES: FsCapabilities = fsCapabilities({
  atomicMove: true,
  serverSideMove: true,
  conditionalCreate: true,
  append: true,
  fsync: true,
  delimiterList: false,
  rangeRead: true,
  maxListPageSize: 1000,
  remote: false,
  serverSideCopy: true,
});

/** Files a deletePrefix walk counts per step. */
const COUNT_STEP = 1000;
const CHUNK_BYTES = 1 << 20;
/** Ranged reads up to this size skip the stat: one positional read. */
const SMALL_READ_BYTES = 4 << 20;

/**
 * {@link FileSystem} on a local folder (`file://` roots), through `node:fs/promises` or an injected
 * node:fs-compatible module.
 *
 * - Writes go to a hidden temp file `.<name>.tmp-<random>` in the target folder, then `rename`: a reader
 *   never sees half a file. `exclusive: true` uses `link`, which fails with `EEXIST` when the target
 *   exists, so of two racing creates exactly one wins.
 * - `durable: true` fsyncs the file and, after the create/rename, its parent folder and the parent of every
 *   folder created on the way (mkdir -p). `move` always does. A `durable` delete fsyncs the folder that lost
 *   the entry (the first one left after pruning emptied folders).
 * - `move` is one `rename` (atomic). A rename across devices (`EXDEV`) is refused with `Unsupported`.
 * - Listing follows object-store prefix semantics (`coll-1/` never matches `coll-10/…`), in ascending
 *   UTF-8 key order; the delimiter mode is emulated from folder reads.
 * - Deleting the last file of a folder removes the emptied folders up to the root, so a delimiter listing
 *   shows the same prefixes an object store would.
 *
 * @example
 * const fs = new LocalFileSystem("file:///mnt/nvme1/wal");
 * await fs.write("orders/000001.avro", bytes, { durable: true });
 * await fs.move("orders/_staging/seg.avro", "orders/000002.avro");
 */
export class LocalFileSystem implements FileSystem {
  /** The root this instance serves. */
  readonly root: StorageRoot;
  /** What this backend does natively. */
  readonly capabilities: FsCapabilities;
  readonly #fs: FsPromisesModule;
  /** Callback descriptor I/O for positional readers, when the module has it (node:fs and memfs do). */
  readonly #fd: DescriptorIo | undefined;
  readonly #io: ListingIo;
  readonly #base: string;
  readonly #guard: FsGuard;
  /** Folders this instance created (mkdir -p) whose entries are not known durable yet. */
  readonly #undurable = new Set<string>();

  /**
   * @param root a `file://` root (or an absolute path), or a `mem://` root when an in-memory module is injected
   * @param options the file-system module to use
   * @throws InvalidStorageUrlError for a root of another scheme (`mem://` too, unless `options.fs` is given)
   */
  constructor(root: StorageRoot | string, options: LocalFileSystemOptions = {}) {
    const url = typeof root === "string" && root.startsWith("/") ? `file://${root}` : root;
    // mem:// names a folder of an in-memory volume: on node:fs it would land on the real disk.
    const parsed = assertRootScheme(url, options.fs ? ["file", "mem"] : ["file"], "LocalFileSystem");
    this.root = parsed;
    this.#base = parsed.path as string;
    const mod = options.fs ?? nodeFs;
    this.#fs = mod.promises as FsPromisesModule;
    this.#io = listingIo(mod, this.#fs);
    this.#fd = descriptorIo(mod as unknown as Record<string, unknown>);
    this.capabilities = fsCapabilities(LOCAL_CAPABILITIES, options.capabilities);
    this.#guard = new FsGuard(parsed, this.capabilities.maxListPageSize);
  }

  #path(key: string): string {
    return key === "" ? this.#base : `${this.#base}/${key}`;
  }

  /** Checks that this instance is open and `key` names a file (`InvalidKey` otherwise). */
  #file(op: string, key: string): string {
    return this.#guard.file(op, key);
  }

  #err(err: unknown, op: string, key?: string): FsError {
    return toFsError(err, op, this.root.url, key);
  }

  /** True when the root folder exists. Never creates it. */
  async probe(): Promise<RootProbe> {
    this.#guard.open("probe");
    try {
      const st = await this.#fs.stat(this.#base);
      return { exists: st.isDirectory() };
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOENT" || code === "ENOTDIR") return { exists: false };
      throw this.#err(err, "probe");
    }
  }

  /**
   * Lists keys under `prefix` page by page (object-store prefix semantics, ascending UTF-8 order).
   *
   * Folders are read ahead of the walk (a few at a time) and files are statted through a bounded window
   * that runs ahead of the page being handed out, so readdir, stat and the caller's work overlap.
   * With `sizes: false` no file is statted: sizes and times are `NaN` (see {@link LocalListOptions}).
   */
  async *list(prefix: string, options: LocalListOptions = {}): AsyncIterable<ListPage> {
    const size = this.#guard.list(prefix, options.pageSize);
    const { dir, name } = splitPrefix(prefix);
    const walker = this.#walker(options.delimiter !== true);
    if (options.sizes === false) {
      yield* this.#listNames(walker, dir, name, size, options.signal);
      return;
    }
    const stats = new StatWindow(this.#io, (key) => this.#path(key));
    try {
      await walker.open(dir, name);
      const push = (item: WalkItem) => stats.push(item);
      // A folder that fails to read fails the listing after the pages before it, as a lazy walk would.
      let walkFailed = false;
      let walkError: unknown;
      for (;;) {
        // Keep a page plus a stat window queued, so stats keep flowing while a page is handed out.
        while (!walkFailed && !walker.done && stats.queued < size + STAT_WINDOW) {
          try {
            await walker.fill(push, size + STAT_WINDOW - stats.queued);
          } catch (err) {
            walkFailed = true;
            walkError = err;
          }
        }
        if (stats.queued === 0) {
          if (walkFailed) throw walkError;
          break;
        }
        const page = this.#page(await stats.take(size));
        options.signal?.throwIfAborted();
        yield page;
      }
      options.signal?.throwIfAborted();
    } finally {
      stats.close();
    }
  }

  /** The `sizes: false` listing: names and types from readdir alone, no stat per file. */
  async *#listNames(
    walker: FolderWalker,
    dir: string,
    name: string,
    size: number,
    signal: AbortSignal | undefined,
  ): AsyncIterable<ListPage> {
    await walker.open(dir, name);
    let files: FileEntry[] = [];
    let prefixes: string[] = [];
    const sink = (item: WalkItem) => {
      if (item.isPrefix) prefixes.push(item.key);
      else files.push({ key: item.key, size: Number.NaN, mtimeMs: Number.NaN });
    };
    // A folder that fails to read fails the listing after the pages before it, as with sizes.
    while (!walker.done) {
      let failed = false;
      let failure: unknown;
      try {
        await walker.fill(sink, size - files.length - prefixes.length);
      } catch (err) {
        failed = true;
        failure = err;
      }
      if (!failed && !walker.done && files.length + prefixes.length < size) continue;
      if (files.length + prefixes.length > 0) {
        const page: ListPage = { files, prefixes };
        files = [];
        prefixes = [];
        signal?.throwIfAborted();
        yield page;
      }
      if (failed) throw failure;
    }
    signal?.throwIfAborted();
  }

  #walker(recursive: boolean): FolderWalker {
    return new FolderWalker(
      this.#io,
      (key) => this.#path(key),
      recursive,
      (err, key) => this.#err(err, "list", key),
    );
  }

  #page(slots: readonly StatSlot[]): ListPage {
    const prefixes: string[] = [];
    const files: FileEntry[] = [];
    for (const s of slots) {
      if (s.isPrefix) prefixes.push(s.key);
      else if (s.state === STAT_DONE) files.push({ key: s.key, size: s.size, mtimeMs: s.mtimeMs });
      else if (s.state === STAT_FAILED) throw this.#err(s.error, "list", s.key);
      // STAT_GONE: deleted since its folder was read
    }
    return { files, prefixes };
  }

  /** Size and mtime of one file; `NotFound` when absent (a folder is not a key). */
  async stat(key: string): Promise<FileEntry> {
    this.#file("stat", key);
    try {
      const st = await this.#fs.stat(this.#path(key));
      if (!st.isFile())
        throw new FsError("NotFound", `stat ${JSON.stringify(key)} in ${this.root.url}: not a file`, {
          key,
          root: this.root.url,
        });
      return { key, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      throw this.#readErr(err, "stat", key);
    }
  }

  /** A missing parent or a folder where a file was expected means the key does not exist. */
  #readErr(err: unknown, op: string, key: string): FsError {
    const code = errnoOf(err);
    return toFsError(
      err,
      op,
      this.root.url,
      key,
      code === "ENOTDIR" || code === "EISDIR" ? "NotFound" : undefined,
    );
  }

  /** Opens a key for reading; a missing key (or a folder in its path) is `NotFound`. */
  async #openRead(op: string, key: string): Promise<FileHandle> {
    try {
      return await this.#fs.open(this.#path(key), "r");
    } catch (err) {
      throw this.#readErr(err, op, key);
    }
  }

  /** True when the key exists (as a file). */
  async exists(key: string): Promise<boolean> {
    return existsByStat(this, key);
  }

  /** Reads a whole file or a range of it. */
  async read(key: string, range?: ReadRange): Promise<Uint8Array> {
    this.#file("read", key);
    checkReadRange(range, key);
    // One open and one positional read into one buffer: no stream, no concatenation. A bounded range
    // (an SSTable block, a footer) does not even need the file's size.
    const handle = await this.#openRead("read", key);
    try {
      const offset = range?.offset ?? 0;
      let length = range?.length;
      if (length === undefined || length > SMALL_READ_BYTES) {
        const st = await handle.stat();
        if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
        length = Math.max(0, Math.min(length ?? Number.POSITIVE_INFINITY, st.size - offset));
      }
      return await readAt(handle, offset, length);
    } catch (err) {
      throw this.#readErr(err, "read", key);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** Opens a file for positional reads through one descriptor (an SSTable's block reads). */
  async openReader(key: string): Promise<PositionalReader> {
    this.#file("openReader", key);
    const readErr = (err: unknown) => this.#readErr(err, "read", key);
    if (this.#fd) {
      let fd: number;
      try {
        fd = await this.#fd.open(this.#path(key));
      } catch (err) {
        throw this.#readErr(err, "openReader", key);
      }
      const reader = new DescriptorReader(this.#fd, fd);
      return {
        async read(offset: number, length: number): Promise<Uint8Array> {
          checkReadRange({ offset, length }, key);
          try {
            return await reader.read(offset, length);
          } catch (err) {
            throw readErr(err);
          }
        },
        close: () => reader.close(),
      };
    }
    const handle = await this.#openRead("openReader", key);
    return {
      async read(offset: number, length: number): Promise<Uint8Array> {
        checkReadRange({ offset, length }, key);
        try {
          return await readAt(handle, offset, length);
        } catch (err) {
          throw readErr(err);
        }
      },
      close: () => handle.close(),
    };
  }

  /** Streams a file (or a range) in chunks of up to 1 MiB. */
  async *readStream(key: string, range?: ReadRange): AsyncIterable<Uint8Array> {
    this.#file("readStream", key);
    checkReadRange(range, key);
    const handle = await this.#openRead("read", key);
    let size: number;
    try {
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
        size = st.size;
      } catch (err) {
        throw this.#readErr(err, "read", key);
      }
      let pos = Math.min(range?.offset ?? 0, size);
      const end = range?.length === undefined ? size : Math.min(size, pos + range.length);
      while (pos < end) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - pos));
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buf, 0, buf.length, pos));
        } catch (err) {
          throw this.#readErr(err, "read", key);
        }
        if (bytesRead === 0) break; // truncated under us
        pos += bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Writes a whole file atomically (temp file + rename). */
  async write(key: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    await this.#writeAtomic(key, options, async (h) => {
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await h.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
      return bytes.length;
    });
  }

  /** Writes a file from a stream (temp file + rename), holding one chunk at a time. */
  async writeStream(
    key: string,
    source: AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<{ bytes: number }> {
    const bytes = await this.#writeAtomic(key, options, async (h) => {
      let total = 0;
      for await (const chunk of source) {
        options.signal?.throwIfAborted();
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await h.write(chunk, off, chunk.length - off);
          off += bytesWritten;
        }
        total += chunk.length;
      }
      return total;
    });
    return { bytes };
  }

  async #writeAtomic(
    key: string,
    options: WriteOptions,
    body: (h: FileHandle) => Promise<number>,
  ): Promise<number> {
    this.#file("write", key);
    options.signal?.throwIfAborted();
    const dir = parentOf(key);
    const tmp = `${dir === "" ? "" : `${dir}/`}.${baseOf(key)}.tmp-${randomBytes(6).toString("hex")}`;
    const target = this.#path(key);
    const tmpPath = this.#path(tmp);
    let handle: FileHandle | undefined;
    try {
      handle = await this.#openCreate(tmpPath, dir);
      const n = await body(handle);
      options.signal?.throwIfAborted();
      if (options.durable) await handle.sync();
      await handle.close();
      handle = undefined;
      if (options.exclusive) {
        // link() fails with EEXIST when the target exists: the backend picks exactly one winner.
        await this.#fs.link(tmpPath, target);
        await this.#fs.unlink(tmpPath);
      } else {
        await this.#fs.rename(tmpPath, target);
      }
      if (options.durable) {
        await this.#syncDir(dir);
        await this.#syncCreated(dir);
      }
      return n;
    } catch (err) {
      await handle?.close().catch(() => {});
      await this.#fs.unlink(tmpPath).catch(() => {});
      if (options.signal?.aborted && err === options.signal.reason) throw err;
      const code = errnoOf(err);
      if (code === undefined && !(err instanceof FsError)) throw err; // the caller's source failed: theirs to see
      if (
        code === "EISDIR" ||
        code === "ENOTDIR" ||
        (code === "EPERM" && !options.exclusive && (await this.#isDir(target)))
      ) {
        throw toFsError(err, "write", this.root.url, key, "Unsupported");
      }
      throw this.#err(err, "write", key);
    }
  }

  async #isDir(path: string): Promise<boolean> {
    try {
      return (await this.#fs.stat(path)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Opens a new file for writing, creating its folder (again, if a concurrent delete pruned it). */
  async #openCreate(path: string, dir: string): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      try {
        // A concurrent delete may prune the folder (or a parent) between mkdir and open: try again.
        await this.#mkdirs(dir);
        return await this.#fs.open(path, "wx");
      } catch (err) {
        if (errnoOf(err) !== "ENOENT" || attempt >= 3) throw err;
      }
    }
  }

  /**
   * mkdir -p, remembering the folders it created until a durable operation makes their entries durable
   * (node:fs resolves with the first folder it created).
   */
  async #mkdirs(dir: string): Promise<void> {
    const first = await this.#fs.mkdir(this.#path(dir), { recursive: true });
    if (typeof first !== "string" || first.length <= this.#base.length) return;
    const top = first.slice(this.#base.length + 1);
    for (let d = dir; d !== ""; d = parentOf(d)) {
      this.#undurable.add(d);
      if (d === top) break;
    }
  }

  /**
   * Makes the folders on the way to `dir` that this instance created durable: fsyncs the parent of each,
   * deepest first (and `also`, once), then forgets them.
   */
  async #syncCreated(dir: string, also?: string): Promise<void> {
    const created: string[] = [];
    for (let d = dir; d !== ""; d = parentOf(d)) if (this.#undurable.has(d)) created.push(d);
    const parents = [...new Set([...created.map(parentOf), ...(also === undefined ? [] : [also])])];
    parents.sort((a, b) => b.length - a.length);
    for (const p of parents) await this.#syncDir(p, { missingOk: true });
    for (const d of created) this.#undurable.delete(d);
  }

  /** fsyncs a folder so a create or rename in it survives a crash. */
  async #syncDir(dir: string, options: { missingOk?: boolean } = {}): Promise<void> {
    let h: FileHandle;
    try {
      h = await this.#fs.open(this.#path(dir), "r");
    } catch (err) {
      if (options.missingOk && errnoOf(err) === "ENOENT") return;
      throw err;
    }
    try {
      await h.sync();
    } catch (err) {
      // Some file systems refuse fsync on a folder; the rename itself is still atomic there.
      const code = errnoOf(err);
      if (code !== "EINVAL" && code !== "EISDIR" && code !== "ENOTSUP") throw err;
    } finally {
      await h.close();
    }
  }

  async #exists(path: string): Promise<boolean> {
    try {
      await this.#fs.stat(path);
      return true;
    } catch {
      return false;
    }
  }

  /** Opens (creating if absent) a file for appending. */
  async openAppend(key: string): Promise<AppendHandle> {
    this.#file("openAppend", key);
    const dir = parentOf(key);
    const path = this.#path(key);
    let handle: FileHandle;
    let created = false;
    try {
      await this.#mkdirs(dir);
      try {
        handle = await this.#fs.open(path, "ax");
        created = true;
      } catch (err) {
        if (errnoOf(err) !== "EEXIST") throw err;
        handle = await this.#fs.open(path, "a");
      }
    } catch (err) {
      throw this.#err(err, "openAppend", key);
    }
    const st = await handle.stat();
    const syncParent = created
      ? async () => {
          await this.#syncDir(dir);
          await this.#syncCreated(dir);
        }
      : undefined;
    return new LocalAppendHandle(handle, st.size, syncParent, (err, op) => this.#err(err, op, key));
  }

  /**
   * Copies `sourceKey` of another root on the same file-system module (another folder, another mount) to
   * `key` with the kernel's copy (`copyFile`: copy_file_range, or a reflink where the file system has one)
   * into a temp file, fsynced and renamed like {@link write} with `durable`. `false` (nothing copied) for a
   * root of another module or backend. With `durable: false` the temp file is renamed into place without
   * any fsync: {@link sync} makes it durable later (a mover hashes the copy meanwhile).
   */
  async copyFrom(
    source: FileSystem,
    sourceKey: string,
    key: string,
    options: CopyFromOptions = {},
  ): Promise<boolean> {
    const copyFile = (this.#fs as { copyFile?: (a: string, b: string, mode?: number) => Promise<void> })
      .copyFile;
    // `#fs in source`: a real instance (a Proxy around one has no private fields).
    if (!(source instanceof LocalFileSystem) || !(#fs in source) || source.#fs !== this.#fs) return false;
    if (typeof copyFile !== "function") return false;
    source.#file("copyFrom", sourceKey);
    this.#file("copyFrom", key);
    const dir = parentOf(key);
    const tmp = `${dir === "" ? "" : `${dir}/`}.${baseOf(key)}.tmp-${randomBytes(6).toString("hex")}`;
    const tmpPath = this.#path(tmp);
    try {
      await this.#intoFolder(
        dir,
        () => copyFile.call(this.#fs, source.#path(sourceKey), tmpPath, nodeFs.constants.COPYFILE_EXCL),
        () => source.exists(sourceKey),
      );
      const durable = options.durable ?? true;
      if (durable) await this.#syncFile(tmpPath);
      await this.#fs.rename(tmpPath, this.#path(key));
      if (durable) {
        await this.#syncDir(dir);
        await this.#syncCreated(dir);
      }
      return true;
    } catch (err) {
      await this.#fs.unlink(tmpPath).catch(() => {});
      if (errnoOf(err) === "ENOENT" && !(await source.exists(sourceKey)))
        throw source.#err(err, "copyFrom", sourceKey);
      throw this.#err(err, "copyFrom", key);
    }
  }

  /**
   * fsyncs each file (written by a {@link copyFrom} with `durable: false`), then each folder naming one and
   * the folders created for them: durable when it resolves.
   * @throws FsError `NotFound` (a key not there), `InvalidKey`
   */
  async sync(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#file("sync", key);
    const dirs = new Set<string>();
    for (const key of keys) {
      try {
        await this.#syncFile(this.#path(key));
      } catch (err) {
        throw this.#readErr(err, "sync", key);
      }
      dirs.add(parentOf(key));
    }
    for (const dir of dirs) {
      try {
        await this.#syncDir(dir);
        await this.#syncCreated(dir);
      } catch (err) {
        throw this.#err(err, "sync", dir);
      }
    }
  }

  /** fsyncs one file's bytes (a read-only descriptor: Linux fsyncs those too). */
  async #syncFile(path: string): Promise<void> {
    const h = await this.#fs.open(path, "r");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }

  /**
   * Makes folder `dir` and runs `op` (which creates an entry in it). A concurrent delete may prune the folder
   * meanwhile (the mkdir or `op` then fails with ENOENT, or ENOTDIR from a racing recursive mkdir): make it
   * again and retry, at most 3 times, as long as `sourceThere()` (otherwise the error is the caller's).
   */
  async #intoFolder(
    dir: string,
    op: () => Promise<void>,
    sourceThere: () => Promise<boolean>,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#mkdirs(dir);
        await op();
        return;
      } catch (err) {
        const code = errnoOf(err);
        if ((code !== "ENOENT" && code !== "ENOTDIR") || attempt >= 3 || !(await sourceThere())) throw err;
      }
    }
  }

  /** Renames `from` to `to` inside the root (atomic); `EXDEV` is refused, never emulated. */
  async move(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    this.#file("move", from);
    this.#file("move", to);
    if (from === to) return moveOntoItself(this, from, options);
    const src = this.#path(from);
    const dst = this.#path(to);
    try {
      await this.#intoFolder(
        parentOf(to),
        async () => {
          if (options.overwrite === false) {
            // link + unlink: EEXIST when the target exists. Between the two steps both names exist.
            await this.#fs.link(src, dst);
            await this.#fs.unlink(src);
          } else {
            await this.#fs.rename(src, dst);
          }
        },
        () => this.#exists(src),
      );
      await this.#syncDir(parentOf(to));
      // The source folder may have been emptied and pruned by a concurrent move or delete meanwhile.
      if (parentOf(from) !== parentOf(to)) await this.#syncDir(parentOf(from), { missingOk: true });
    } catch (err) {
      if (errnoOf(err) === "EXDEV") {
        throw toFsError(
          err,
          "move (rename across devices is refused, not emulated)",
          this.root.url,
          from,
          "Unsupported",
        );
      }
      throw this.#readErr(err, "move", from);
    }
    // Durable like the rename: the folders created for the target, and the one a prune left.
    await this.#syncCreated(parentOf(to), await this.#prune(parentOf(from)));
  }

  /** Deletes a file; a missing key is not an error. `durable`: the folder that lost it is fsynced. */
  async delete(key: string, options: DeleteOptions = {}): Promise<void> {
    this.#file("delete", key);
    const left = await this.#unlink(key);
    if (options.durable && left !== undefined) await this.#syncDir(left, { missingOk: true });
  }

  /** Unlinks a file and prunes emptied folders; resolves with the folder that lost an entry, if any. */
  async #unlink(key: string): Promise<string | undefined> {
    try {
      await this.#fs.unlink(this.#path(key));
    } catch (err) {
      const code = errnoOf(err);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
      if (code === "EPERM" && (await this.#isDir(this.#path(key)))) return undefined; // a folder is not a key
      throw this.#err(err, "delete", key);
    }
    return this.#prune(parentOf(key));
  }

  /**
   * Removes emptied folders from `dir` up to (not including) the root; resolves with the first folder
   * left standing (the one that lost the last entry removed; "" for the root).
   */
  async #prune(dir: string): Promise<string> {
    for (let d = dir; d !== ""; d = parentOf(d)) {
      try {
        await this.#fs.rmdir(this.#path(d));
        this.#undurable.delete(d);
      } catch {
        return d; // not empty (or gone): stop
      }
    }
    return "";
  }

  /**
   * Deletes many files, 16 at a time; missing keys are not errors. Every key is checked first.
   * `durable`: see {@link delete}.
   */
  async deleteMany(keys: readonly string[], options: DeleteOptions = {}): Promise<void> {
    for (const k of keys) this.#file("deleteMany", k);
    const left = new Set<string>();
    await deleteManyBounded(keys, async (k) => {
      const dir = await this.#unlink(k);
      if (dir !== undefined) left.add(dir);
    });
    // Once per folder, after every delete (a folder pruned meanwhile is gone: its parent is in the set).
    if (options.durable) for (const dir of left) await this.#syncDir(dir, { missingOk: true });
  }

  /** Deletes every file under `prefix` (non-empty, ending with `/`); returns how many. `durable`: see {@link delete}. */
  async deletePrefix(prefix: string, options: DeleteOptions = {}): Promise<number> {
    this.#guard.deletePrefix(prefix);
    const dir = prefix.slice(0, -1);
    let count = 0;
    const walker = this.#walker(true);
    await walker.open(dir, "");
    while (!walker.done) count += await walker.fill(() => {}, COUNT_STEP);
    try {
      await this.#fs.rm(this.#path(dir), { recursive: true, force: true });
    } catch (err) {
      throw this.#err(err, "deletePrefix", prefix);
    }
    const left = await this.#prune(parentOf(dir));
    if (options.durable) await this.#syncDir(left, { missingOk: true });
    return count;
  }

  /**
   * Every later call rejects with `ClosedError`. Nothing else to release: every operation opens and closes
   * its own handles (readers and append handles already open stay usable until closed themselves).
   */
  async close(): Promise<void> {
    this.#guard.close();
  }
}

/** Opens {@link LocalFileSystem}s for `file://` roots. */
export const localFileSystemProvider: FileSystemProvider = Object.freeze({
  schemes: ["file"] as const,
  open: (root: StorageRoot) => new LocalFileSystem(root),
});
