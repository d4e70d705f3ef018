// In-memory buckets and objects of the GCS test server: generations, preconditions and listing.
import { createHash, randomUUID } from "node:crypto";
import { crc32c } from "@node-rs/crc32";

/** One stored object (a single live generation; older generations are not kept). */
export interface StoredObject {
  readonly name: string;
  readonly data: Buffer;
  readonly generation: number;
  metageneration: number;
  contentType: string;
  metadata: Record<string, string> | undefined;
  readonly timeCreated: string;
  updated: string;
  readonly md5Hash: string;
  /** Big-endian CRC32C, base64: the client checks uploads and downloads against it. */
  readonly crc32c: string;
}

/** Query parameters that make a request conditional (`ifGenerationMatch`, …), as numbers. */
export interface Preconditions {
  ifGenerationMatch?: number;
  ifGenerationNotMatch?: number;
  ifMetagenerationMatch?: number;
  ifMetagenerationNotMatch?: number;
}

/** An error the server answers with, as the real JSON API does (`{ error: { code, message, errors } }`). */
export class GcsHttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** One bucket: objects by name plus a lazily rebuilt sorted name index for listing. */
export class GcsBucket {
  readonly objects = new Map<string, StoredObject>();
  readonly timeCreated = new Date().toISOString();
  private sorted: string[] | undefined;

  constructor(readonly name: string) {}

  /** Names in ascending order (rebuilt only after a write or delete). */
  names(): string[] {
    this.sorted ??= [...this.objects.keys()].sort(compareNames);
    return this.sorted;
  }

  put(obj: StoredObject): void {
    if (!this.objects.has(obj.name)) this.sorted = undefined;
    this.objects.set(obj.name, obj);
  }

  remove(name: string): boolean {
    const had = this.objects.delete(name);
    if (had) this.sorted = undefined;
    return had;
  }
}

/** GCS orders names by their UTF-8 bytes; comparing code points gives the same order. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done) return y.done ? 0 : -1;
    if (y.done) return 1;
    const cx = x.value.codePointAt(0) as number;
    const cy = y.value.codePointAt(0) as number;
    if (cx !== cy) return cx - cy;
  }
}

let nextGeneration = Date.now() * 1000;

/** A new object generation: strictly increasing, microsecond-like as on GCS. */
export function newGeneration(): number {
  nextGeneration += 1;
  return nextGeneration;
}

/** Builds a stored object with a fresh generation. */
export function makeObject(
  name: string,
  data: Buffer,
  contentType: string | undefined,
  metadata: Record<string, string> | undefined,
): StoredObject {
  const now = new Date().toISOString();
  return {
    name,
    data,
    generation: newGeneration(),
    metageneration: 1,
    contentType: contentType || "application/octet-stream",
    metadata,
    timeCreated: now,
    updated: now,
    md5Hash: createHash("md5").update(data).digest("base64"),
    crc32c: crc32cBase64(data),
  };
}

/** CRC32C as GCS reports it: the 32-bit value big-endian, base64-encoded. */
export function crc32cBase64(data: Uint8Array): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32c(Buffer.from(data.buffer, data.byteOffset, data.byteLength)) >>> 0);
  return out.toString("base64");
}

/**
 * Checks preconditions against the current object (`undefined` when absent), as GCS does:
 * `ifGenerationMatch=0` means "must not exist"; any other failed condition is 412 conditionNotMet.
 */
export function checkPreconditions(current: StoredObject | undefined, p: Preconditions): void {
  const fail = (what: string) => {
    throw new GcsHttpError(
      412,
      "conditionNotMet",
      `At least one of the pre-conditions you specified did not hold: ${what}`,
    );
  };
  const gen = current?.generation ?? 0;
  if (p.ifGenerationMatch !== undefined && p.ifGenerationMatch !== gen) fail("ifGenerationMatch");
  if (p.ifGenerationNotMatch !== undefined && p.ifGenerationNotMatch === gen) fail("ifGenerationNotMatch");
  if (p.ifMetagenerationMatch !== undefined && p.ifMetagenerationMatch !== (current?.metageneration ?? 0))
    fail("ifMetagenerationMatch");
  if (
    p.ifMetagenerationNotMatch !== undefined &&
    current &&
    p.ifMetagenerationNotMatch === current.metageneration
  )
    fail("ifMetagenerationNotMatch");
}

/** Reads precondition parameters (optionally with a prefix such as `ifSource…`) from a query. */
export function preconditionsFrom(q: URLSearchParams, source = false): Preconditions {
  const num = (k: string) => {
    const v = q.get(k);
    if (v === null || v === "") return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new GcsHttpError(400, "invalid", `Invalid value for ${k}: ${v}`);
    return n;
  };
  return source
    ? {
        ifGenerationMatch: num("ifSourceGenerationMatch"),
        ifGenerationNotMatch: num("ifSourceGenerationNotMatch"),
        ifMetagenerationMatch: num("ifSourceMetagenerationMatch"),
        ifMetagenerationNotMatch: num("ifSourceMetagenerationNotMatch"),
      }
    : {
        ifGenerationMatch: num("ifGenerationMatch"),
        ifGenerationNotMatch: num("ifGenerationNotMatch"),
        ifMetagenerationMatch: num("ifMetagenerationMatch"),
        ifMetagenerationNotMatch: num("ifMetagenerationNotMatch"),
      };
}

/** Options of {@link listObjects}, straight from the `objects.list` query. */
export interface ListQuery {
  prefix: string;
  delimiter: string;
  maxResults: number;
  pageToken: string | undefined;
  includeTrailingDelimiter: boolean;
  startOffset: string | undefined;
  endOffset: string | undefined;
}

/** One page of `objects.list`: items, prefixes and the token of the next page. */
export function listObjects(
  bucket: GcsBucket,
  q: ListQuery,
): { items: StoredObject[]; prefixes: string[]; nextPageToken: string | undefined } {
  const names = bucket.names();
  // The page token is the last name (or prefix) returned: resume strictly after it.
  const after =
    q.pageToken === undefined ? undefined : Buffer.from(q.pageToken, "base64url").toString("utf8");
  let from = q.prefix;
  if (q.startOffset !== undefined && compareNames(q.startOffset, from) > 0) from = q.startOffset;
  let i = lowerBound(names, from);
  if (after !== undefined) {
    i = Math.max(i, lowerBound(names, after));
    // Skip the token itself and, when it was a prefix, everything under it.
    while (
      i < names.length &&
      ((names[i] as string) === after ||
        (after.endsWith(q.delimiter || "\0") && (names[i] as string).startsWith(after)))
    )
      i++;
  }
  const items: StoredObject[] = [];
  const prefixes: string[] = [];
  let last: string | undefined;
  while (i < names.length && items.length + prefixes.length < q.maxResults) {
    const name = names[i] as string;
    if (!name.startsWith(q.prefix)) break;
    if (q.endOffset !== undefined && compareNames(name, q.endOffset) >= 0) break;
    const cut = q.delimiter ? name.indexOf(q.delimiter, q.prefix.length) : -1;
    if (cut >= 0) {
      const p = name.slice(0, cut + q.delimiter.length);
      prefixes.push(p);
      last = p;
      while (i < names.length && (names[i] as string).startsWith(p)) {
        if (q.includeTrailingDelimiter && names[i] === p) items.push(bucket.objects.get(p) as StoredObject);
        i++;
      }
      continue;
    }
    items.push(bucket.objects.get(name) as StoredObject);
    last = name;
    i++;
  }
  let more = i < names.length && (names[i] as string).startsWith(q.prefix);
  if (more && q.endOffset !== undefined && compareNames(names[i] as string, q.endOffset) >= 0) more = false;
  return {
    items,
    prefixes,
    nextPageToken: more && last !== undefined ? Buffer.from(last, "utf8").toString("base64url") : undefined,
  };
}

function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNames(sorted[mid] as string, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A resumable upload session: bytes are kept only from chunks whose request body arrived whole. */
export interface UploadSession {
  readonly id: string;
  readonly bucket: string;
  readonly name: string;
  readonly contentType: string | undefined;
  readonly metadata: Record<string, string> | undefined;
  readonly preconditions: Preconditions;
  readonly chunks: Buffer[];
  received: number;
  result: StoredObject | undefined;
  /** Set when finalisation failed (a precondition): the session is over and answers this error again. */
  failure?: GcsHttpError;
}

/** Opens a new resumable session. */
export function newSession(
  bucket: string,
  name: string,
  contentType: string | undefined,
  metadata: Record<string, string> | undefined,
  preconditions: Preconditions,
): UploadSession {
  return {
    id: randomUUID(),
    bucket,
    name,
    contentType,
    metadata,
    preconditions,
    chunks: [],
    received: 0,
    result: undefined,
  };
}
