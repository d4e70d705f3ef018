import { createHash } from "node:crypto";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";
import { type FileSystem, FsError, type FsErrorKind, type ListOptions } from "@proximadb/core";

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

/** Asserts that `p` rejects with an {@link FsError} of `kind`. */
export async function expectFsError(
  p: Promise<unknown> | (() => Promise<unknown>),
  kind: FsErrorKind,
): Promise<FsError> {
  const err = await fsErrorOf(p);
  if (err.kind !== kind)
    throw new Error(`expected FsError ${kind}, got ${err.kind}: ${err.message}`, { cause: err });
  return err;
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
