// Maps errors of @google-cloud/storage to FsError kinds, from the HTTP status or errno code only.
import { FsError, type FsErrorKind, TRANSIENT_NETWORK_CODES } from "@proximadb/core";

/** Network failures the client surfaces with a string `code`: retrying later may succeed. */
const TRANSIENT_CODES = new Set([
  ...TRANSIENT_NETWORK_CODES,
  // Checksum mismatch after a transfer: the bytes were damaged in flight, a new attempt may succeed.
  "FILE_NO_UPLOAD",
  "CONTENT_DOWNLOAD_MISMATCH",
]);

/** Context of a failed call, used for the kind and the message. */
export interface ErrorContext {
  /** Operation name for the message (`write`, `list`, …). */
  readonly op: string;
  /** Canonical root URL (never with credentials). */
  readonly root: string;
  /** Root-relative key, when the call was about one. */
  readonly key?: string;
  /** The call was an exclusive create: 412 means AlreadyExists. */
  readonly exclusive?: boolean;
  /**
   * Errors with neither an HTTP status nor an errno code are retry-budget exhaustion (the resumable
   * upload session only retries retryable failures and then gives up with a bare Error).
   */
  readonly bareErrorIsTransient?: boolean;
}

/** The status (`code`) the client puts on ApiError / GaxiosError / RequestError, if any. */
export function statusOf(err: unknown): number | string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  if (typeof e.code === "number") return e.code;
  if (typeof e.response?.status === "number") return e.response.status;
  if (typeof e.status === "number") return e.status;
  if (typeof e.code === "string" && e.code !== "") {
    const n = Number(e.code);
    return Number.isInteger(n) && n >= 100 && n < 600 ? n : e.code;
  }
  return undefined;
}

/**
 * The server's `Retry-After` on a failed response, in ms (seconds or an HTTP date), when the client kept
 * the response on the error (`ApiError.response.headers`).
 */
export function retryAfterMsOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const headers = (err as { response?: { headers?: unknown } }).response?.headers;
  if (typeof headers !== "object" || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  const raw =
    typeof get === "function"
      ? (get.call(headers, "retry-after") as unknown)
      : (headers as Record<string, unknown>)["retry-after"];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (typeof value !== "string" || value.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function kindOf(status: number | string | undefined, ctx: ErrorContext): FsErrorKind {
  if (typeof status === "number") {
    if (status === 404) return "NotFound";
    if (status === 401 || status === 403) return "PermissionDenied";
    if (status === 412) return ctx.exclusive ? "AlreadyExists" : "ConditionFailed";
    if (status === 409) return "ConditionFailed";
    if (status === 413 || status === 507) return "NoSpace";
    if (status === 408 || status === 429 || status >= 500) return "Transient";
    return "Unknown";
  }
  if (typeof status === "string") return TRANSIENT_CODES.has(status.toUpperCase()) ? "Transient" : "Unknown";
  return ctx.bareErrorIsTransient ? "Transient" : "Unknown";
}

/**
 * A cause safe to keep on the error: the client's errors carry the request configuration (headers
 * with a bearer token, the auth client); only the name, status and the server's message survive.
 */
function safeCause(err: unknown, status: number | string | undefined): Error {
  const name = err instanceof Error ? err.name : "Error";
  const message = err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300);
  const cause = new Error(message);
  cause.name = name;
  return Object.assign(cause, { code: status });
}

/** Turns anything the client threw into an {@link FsError} (an FsError passes through unchanged). */
export function toFsError(err: unknown, ctx: ErrorContext): FsError {
  if (err instanceof FsError) return err;
  const status = statusOf(err);
  const kind = kindOf(status, ctx);
  const where = ctx.key === undefined ? ctx.root : `${ctx.root}/${ctx.key}`;
  const shown = status === undefined ? "" : typeof status === "number" ? ` (HTTP ${status})` : ` (${status})`;
  return new FsError(kind, `gcs ${ctx.op} ${JSON.stringify(where)} failed: ${kind}${shown}`, {
    key: ctx.key,
    root: ctx.root,
    status,
    cause: safeCause(err, status),
  });
}
