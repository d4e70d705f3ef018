// Handles LocalFileSystem hands out: positional reads into one buffer, and files opened for appending.
import type { FileHandle } from "node:fs/promises";
import { type AppendHandle, type FsError, InvalidArgumentError } from "@proximadb/core";

/** Reads `length` bytes at `offset` into one buffer (fewer only at the end of the file). */
export async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, offset + filled);
    if (bytesRead === 0) break; // end of file (or truncated under us)
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

/** A file opened for appending: writes, fsync (of the file and, once, of a new file's folder), truncation. */
export class LocalAppendHandle implements AppendHandle {
  #size: number;
  #syncParent: (() => Promise<void>) | undefined;

  constructor(
    private readonly handle: FileHandle,
    size: number,
    syncParent: (() => Promise<void>) | undefined,
    private readonly fail: (err: unknown, op: string) => FsError,
  ) {
    this.#size = size;
    this.#syncParent = syncParent;
  }

  get size(): number {
    return this.#size;
  }

  async write(data: Uint8Array): Promise<void> {
    try {
      let off = 0;
      while (off < data.length) off += (await this.handle.write(data, off, data.length - off)).bytesWritten;
      this.#size += data.length;
    } catch (err) {
      throw this.fail(err, "append");
    }
  }

  async sync(): Promise<void> {
    try {
      await this.handle.sync();
      // A new file is durable only once its folder entry is.
      if (this.#syncParent) {
        await this.#syncParent();
        this.#syncParent = undefined;
      }
    } catch (err) {
      throw this.fail(err, "sync");
    }
  }

  async truncate(size: number): Promise<void> {
    if (!Number.isInteger(size) || size < 0 || size > this.#size) {
      throw new InvalidArgumentError(`truncate size must be an integer in [0, ${this.#size}] (got ${size})`);
    }
    try {
      await this.handle.truncate(size);
      this.#size = size;
    } catch (err) {
      throw this.fail(err, "truncate");
    }
  }

  async close(): Promise<void> {
    try {
      await this.handle.close();
    } catch (err) {
      throw this.fail(err, "close");
    }
  }
}

type OpenCb = (
  path: string,
  flags: string,
  cb: (err: NodeJS.ErrnoException | null, fd: number) => void,
) => void;
type ReadCb = (
  fd: number,
  buf: Buffer,
  offset: number,
  length: number,
  position: number,
  cb: (err: NodeJS.ErrnoException | null, bytesRead: number) => void,
) => void;
type CloseCb = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void;

/** The callback `open`/`read`/`close` of a node:fs-compatible module, when it has all three. */
export interface DescriptorIo {
  open(path: string): Promise<number>;
  read(fd: number, buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(fd: number): Promise<void>;
}

/**
 * Callback descriptor I/O of `mod` (node:fs, memfs), or undefined when it lacks one of the three calls.
 * A callback `read` on a raw descriptor skips the `FileHandle` wrapper and its promise plumbing: about
 * half the main-thread cost of `FileHandle.read` per 4 KiB block on Node 20.
 */
export function descriptorIo(mod: Record<string, unknown>): DescriptorIo | undefined {
  const open = mod.open as OpenCb | undefined;
  const read = mod.read as ReadCb | undefined;
  const close = mod.close as CloseCb | undefined;
  if (typeof open !== "function" || typeof read !== "function" || typeof close !== "function")
    return undefined;
  const call = <T>(fn: (cb: (err: NodeJS.ErrnoException | null, v: T) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      try {
        fn((err, v) => (err ? reject(err) : resolve(v)));
      } catch (err) {
        reject(err);
      }
    });
  return {
    open: (path) => call<number>((cb) => open.call(mod, path, "r", cb)),
    read: (fd, buf, offset, length, position) =>
      call<number>((cb) => read.call(mod, fd, buf, offset, length, position, cb)),
    close: (fd) => call<void>((cb) => close.call(mod, fd, (err) => cb(err, undefined))),
  };
}

/**
 * Positional reads through one raw descriptor. A descriptor number is reused by the kernel once closed,
 * so a read after `close` must never reach it: reads after `close` reject (`EBADF`), and `close` waits
 * for the reads in flight before it releases the descriptor.
 */
export class DescriptorReader {
  #inFlight = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  constructor(
    private readonly io: DescriptorIo,
    private readonly fd: number,
  ) {}

  /** Reads `length` bytes at `offset` into one buffer (fewer only at the end of the file). */
  async read(offset: number, length: number): Promise<Buffer> {
    if (this.#closed) throw Object.assign(new Error("reader is closed"), { code: "EBADF" });
    this.#inFlight++;
    try {
      const buf = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const n = await this.io.read(this.fd, buf, filled, length - filled, offset + filled);
        if (n === 0) break; // end of file (or truncated under us)
        filled += n;
      }
      return filled === length ? buf : buf.subarray(0, filled);
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }

  /** Releases the descriptor once the reads in flight are done. Idempotent. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      const drained =
        this.#inFlight === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              this.#drained = resolve;
            });
      this.#closing = drained.then(() => this.io.close(this.fd));
    }
    return this.#closing;
  }
}
