import { type ErrorCode, ProximaError, RootOfflineError, RootsFullError, isFsError } from "@proximadb/core";
import { NodeError, type NodeErrorKind, type OfflineRoot } from "./errors.js";

/** How one kind of refusal answers over HTTP: its status and the `kind` of the JSON error body. */
export interface HttpErrorEntry {
  readonly status: number;
  /** `error.kind` in the body (the API's names, stable for clients). */
  readonly kind: string;
}

/**
 * The error catalogue: every answer the API gives to a failed request. NodeError kinds map one to one;
 * other errors by their code (core's typed errors), Fastify's own refusals by their status.
 */
export const HTTP_ERRORS = {
  InvalidArgument: { status: 400, kind: "invalid" },
  NotFound: { status: 404, kind: "not-found" },
  AlreadyExists: { status: 409, kind: "exists" },
  TooLarge: { status: 413, kind: "too-large" },
  Unavailable: { status: 503, kind: "unavailable" },
  Internal: { status: 500, kind: "internal" },
  /** A write the storage had no room for (ENOSPC, a quota), or every root full: nothing was acknowledged. */
  InsufficientStorage: { status: 507, kind: "insufficient-storage" },
} as const satisfies Record<NodeErrorKind | "TooLarge" | "Internal" | "InsufficientStorage", HttpErrorEntry>;

/** Errors of other packages that are the caller's fault or a passing state, by code. */
const BY_CODE: Partial<Record<ErrorCode, HttpErrorEntry>> = {
  INVALID_COLLECTION_ID: HTTP_ERRORS.InvalidArgument,
  ROOT_OFFLINE: HTTP_ERRORS.Unavailable,
  STORE_UNAVAILABLE: HTTP_ERRORS.Unavailable,
  CLOSED: HTTP_ERRORS.Unavailable,
};

/** The answer to a failed request. */
export interface HttpError {
  readonly entry: HttpErrorEntry;
  /** Secret-free. */
  readonly message: string;
  /** True when it is the server's fault (logged). */
  readonly logged: boolean;
  /** True when the same request may succeed later (`error.retryable` in the body). */
  readonly retryable: boolean;
  /** For 503 `unavailable`: the offline roots the request needed. */
  readonly roots?: readonly OfflineRoot[];
}

/** 507 for a storage root out of space (the message names it) or every root full; else undefined. */
function noSpace(err: unknown): HttpError | undefined {
  const cause = (err as { cause?: unknown } | null)?.cause;
  const fs = isFsError(err, "NoSpace") ? err : isFsError(cause, "NoSpace") ? cause : undefined;
  const message = fs
    ? `storage root ${fs.root ?? "(unknown)"} is out of space; nothing was written: ${fs.message}`
    : err instanceof RootsFullError
      ? err.message
      : undefined;
  if (message === undefined) return undefined;
  return { entry: HTTP_ERRORS.InsufficientStorage, message, logged: true, retryable: false };
}

/** The answer to a failed request, with a secret-free message; `logged` when it is the server's fault. */
export function httpErrorOf(err: unknown): HttpError {
  if (err instanceof NodeError)
    return {
      entry: HTTP_ERRORS[err.kind],
      message: err.message,
      logged: false,
      retryable: err.retryable,
      ...(err.roots ? { roots: err.roots } : {}),
    };
  if (err instanceof RootOfflineError) {
    const roots = [{ component: err.component, url: err.url, status: "offline", reason: err.message }];
    return { entry: HTTP_ERRORS.Unavailable, message: err.message, logged: true, retryable: true, roots };
  }
  const full = noSpace(err);
  if (full) return full;
  if (err instanceof ProximaError) {
    const entry = BY_CODE[err.code] ?? (err.retryable ? HTTP_ERRORS.Unavailable : undefined);
    const retryable = err.retryable || entry === HTTP_ERRORS.Unavailable;
    if (entry) return { entry, message: err.message, logged: entry.status >= 500, retryable };
    return { entry: HTTP_ERRORS.Internal, message: err.message, logged: true, retryable: false };
  }
  const e = err as { statusCode?: unknown; message?: unknown };
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own refusals: body too large (413), malformed JSON (400), wrong content type (415).
    const entry = e.statusCode === 413 ? HTTP_ERRORS.TooLarge : { status: e.statusCode, kind: "invalid" };
    const message = typeof e.message === "string" ? e.message : "bad request";
    return { entry, message, logged: false, retryable: false };
  }
  return { entry: HTTP_ERRORS.Internal, message: "internal error", logged: true, retryable: false };
}
