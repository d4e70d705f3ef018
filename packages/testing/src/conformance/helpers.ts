import { createHash } from "node:crypto";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import {
  type ErrorCode,
  type FileSystem,
  FsError,
  type FsErrorKind,
  type ListOptions,
  type ProximaError,
} from "@proximadb/core";

/** Ascending UTF-8 byte order, the order object stores list keys in. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Every page of a listing, kept page by page. */
export async function listPages(
  fs: FileSystem,
  prefix: string,
  options?: ListOptions,
): Promise<{ files: string[]; prefixes: string[]; pageSizes: number[] }> {
  const files: string[] = [];
  const prefixes: string[] = [];
  const pageSizes: number[] = [];
  for await (const page of fs.list(prefix, options)) {
    files.push(...page.files.map((f) => f.key));
    prefixes.push(...page.prefixes);
    pageSizes.push(page.files.length + page.prefixes.length);
  }
  return { files, prefixes, pageSizes };
}

/** Writes many small keys, `concurrency` at a time. */
export async function writeAll(fs: FileSystem, keys: readonly string[], concurrency = 32): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      const k = keys[next++] as string;
      await fs.write(k, k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
}

/** Awaits `p` (or calls it: a synchronous throw counts) and returns what it threw; fails when it succeeded. */
export async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  let value: unknown;
  try {
    value = await (typeof p === "function" ? p() : p);
  } catch (err) {
    return err;
  }
  throw new Error(`expected an error, but the operation succeeded (${String(value)})`);
}

/**
 * Asserts that `p` rejects (or throws) with an instance of `type` whose `code` is `code` and, when given,
 * whose `kind` is `kind`. Returns the error.
 *
 * @example
 * await expectError(fs.read("k", { offset: -1 }), InvalidArgumentError, "INVALID_ARGUMENT");
 */
export async function expectError<T extends ProximaError>(
  p: Promise<unknown> | (() => unknown),
  type: abstract new (...args: never[]) => T,
  code: ErrorCode,
  kind?: string,
): Promise<T> {
  const err = await errorOf(p);
  const shown = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (!(err instanceof type)) throw new Error(`expected ${type.name}, got ${shown}`, { cause: err });
  if (err.code !== code) throw new Error(`expected code ${code}, got ${err.code} (${shown})`, { cause: err });
  const got = (err as { kind?: unknown }).kind;
  if (kind !== undefined && got !== kind)
    throw new Error(`expected kind ${kind}, got ${String(got)} (${shown})`, { cause: err });
  return err;
}

/** Awaits `p` and returns the {@link FsError} it rejected with; fails when it resolved or threw something else. */
export async function fsErrorOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<FsError> {
  let value: unknown;
  try {
    value = await (typeof p === "function" ? p() : p);
  } catch (err) {
    if (err instanceof FsError) return err;
    throw new Error(`expected an FsError, got ${String(err)}`, { cause: err });
  }
  throw new Error(`expected an FsError, but the operation succeeded (${String(value)})`);
}

/** Asserts that `p` rejects with an {@link FsError} (code `FS_ERROR`) of `kind`. */
export async function expectFsError(
  p: Promise<unknown> | (() => Promise<unknown>),
  kind: FsErrorKind,
): Promise<FsError> {
  return expectError(p, FsError, "FS_ERROR", kind);
}

/** Drains a readable stream of bytes into one buffer. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

let gcFn: (() => void) | undefined;
/** A forced garbage collection, so memory samples measure what is retained, not what is pending. */
export function forceGc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    }
  }
  gcFn();
}

/** Bytes held by ArrayBuffers (Buffers) after a forced collection. */
export function retainedBytes(): number {
  forceGc();
  return process.memoryUsage().arrayBuffers;
}

/** Deterministic content of chunk `i` of a generated stream. */
export function patternChunk(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, (i * 31 + 7) & 0xff);
  b.writeUInt32BE(i >>> 0, 0);
  return b;
}

/** Sha-256 of the stream {@link patternChunk} generates. */
export function patternDigest(totalBytes: number, chunkBytes: number): string {
  const h = createHash("sha256");
  for (let i = 0, left = totalBytes; left > 0; i++, left -= chunkBytes)
    h.update(patternChunk(i, Math.min(chunkBytes, left)));
  return h.digest("hex");
}
