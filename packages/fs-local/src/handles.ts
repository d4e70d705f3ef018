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
