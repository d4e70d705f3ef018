import { FsError, type FsErrorKind, TRANSIENT_NETWORK_CODES } from "@proximadb/core";

/** What an operation was doing when it failed (shapes the mapping of 409/412). */
export interface ErrorContext {
  /** The operation, e.g. `write`, `stat` (shown in the message). */
  readonly op: string;
  /** Root-relative key, when there is one. */
  readonly key?: string;
  /** Canonical root URL (never carries credentials). */
  readonly root: string;
  /** The request carried `If-None-Match: *`: a 409/412 means the key exists. */
  readonly exclusive?: boolean;
}

// Network failures the SDK surfaces as `code` (Node errno / undici / the SDK's own codes).
const TRANSIENT_CODES = new Set([
  ...TRANSIENT_NETWORK_CODES,
  "REQUEST_SEND_ERROR",
  // Azure service error codes that mean "busy, try later".
  "ServerBusy",
  "OperationTimedOut",
  "InternalError",
]);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Over a size limit or a quota: the write did not happen. */
const NO_SPACE_CODES = new Set(["RequestBodyTooLarge", "BlockCountExceedsLimit", "ContainerQuotaExceeded"]);
const INVALID_KEY_CODES = new Set(["InvalidResourceName", "InvalidUri", "OutOfRangeInput"]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  cause?: unknown;
}

function asErrorLike(err: unknown): ErrorLike {
  return typeof err === "object" && err !== null ? (err as ErrorLike) : {};
}

/** The first network-level code found on the error or its `cause` chain. */
function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    const e = asErrorLike(cur);
    if (typeof e.code === "string" && TRANSIENT_CODES.has(e.code)) return e.code;
    cur = e.cause;
  }
  return undefined;
}

/**
 * A secret-free summary of an SDK error, kept as the `cause`. The SDK's `RestError` carries the request
 * (URL with any SAS token, headers) and the raw response, so it is never attached as it is.
 */
export class AzureErrorSummary extends Error {
  readonly statusCode: number | undefined;
  readonly code: string | undefined;
  constructor(statusCode: number | undefined, code: string | undefined, name: string) {
    super(`${name}${code ? ` ${code}` : ""}${statusCode ? ` (HTTP ${statusCode})` : ""}`);
    this.name = "AzureErrorSummary";
    this.statusCode = statusCode;
    this.code = code;
  }
}

/**
 * Maps an `@azure/storage-blob` failure to an {@link FsError}, from its `statusCode` and `code` only
 * (never its message text): 404 NotFound; 401/403 PermissionDenied; 409/412 AlreadyExists for an
 * exclusive create, otherwise ConditionFailed; 408/429/5xx and network resets Transient (retryable).
 */
export function toFsError(err: unknown, ctx: ErrorContext): FsError {
  if (err instanceof FsError) return err;
  const e = asErrorLike(err);
  const status = typeof e.statusCode === "number" ? e.statusCode : undefined;
  const code = typeof e.code === "string" ? e.code : undefined;
  const name = typeof e.name === "string" ? e.name : "Error";
  const net = networkCode(err);

  let kind: FsErrorKind;
  if (name === "AbortError") kind = "Unknown";
  else if (status === 404) kind = "NotFound";
  else if (status === 401 || status === 403) kind = "PermissionDenied";
  else if (status === 413 || status === 507 || (code !== undefined && NO_SPACE_CODES.has(code)))
    kind = "NoSpace";
  else if (status === 409 || status === 412) {
    kind = ctx.exclusive || code === "BlobAlreadyExists" ? "AlreadyExists" : "ConditionFailed";
  } else if (status !== undefined && TRANSIENT_STATUS.has(status)) kind = "Transient";
  else if (code !== undefined && INVALID_KEY_CODES.has(code)) kind = "InvalidKey";
  else if (net !== undefined || (code !== undefined && TRANSIENT_CODES.has(code))) kind = "Transient";
  else if (status === undefined && /timeout/i.test(name)) kind = "Transient";
  else kind = "Unknown";

  const shownCode = code ?? net;
  const what = ctx.key === undefined ? ctx.op : `${ctx.op} ${JSON.stringify(ctx.key)}`;
  const why =
    name === "AbortError"
      ? "aborted"
      : `${kind}${shownCode ? ` ${shownCode}` : ""}${status ? ` (HTTP ${status})` : ""}`;
  return new FsError(kind, `azure blob ${what} in ${ctx.root}: ${why}`, {
    key: ctx.key,
    root: ctx.root,
    status: status ?? shownCode,
    cause: new AzureErrorSummary(status, shownCode, name),
  });
}
