import { FsError, type FsErrorKind, TRANSIENT_NETWORK_CODES } from "@proximadb/core";

/** What an S3 call was doing when it failed: names the operation, never a credential. */
export interface S3ErrorContext {
  /** Operation name shown in the message (`write`, `list`, …). */
  readonly op: string;
  /** Canonical root URL (`s3://bucket/prefix`). */
  readonly root: string;
  /** Root-relative key, when the operation has one. */
  readonly key?: string;
  /** The call was an exclusive create: 412 / 409 mean the key already exists. */
  readonly exclusiveCreate?: boolean;
}

/** Out of space or over a size limit or quota (MinIO answers 507 `XMinioStorageFull`). */
const NO_SPACE = new Set(["EntityTooLarge", "XMinioStorageFull", "QuotaExceeded", "StorageFull"]);
const NOT_FOUND = new Set(["NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload"]);
const DENIED = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "AllAccessDisabled",
  "AccountProblem",
  "CredentialsProviderError",
]);
const TRANSIENT_NAMES = new Set([
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "BandwidthLimitExceeded",
  "InternalError",
  "ServiceUnavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
  "NetworkingError",
]);
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown };
}

/** Facts read from an SDK or network error: status, error name, errno code. Never its message. */
export function describeS3Error(err: unknown): {
  status: number | undefined;
  name: string | undefined;
  code: string | undefined;
} {
  const e = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  const rawStatus = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const status = typeof rawStatus === "number" ? rawStatus : undefined;
  const name = typeof e.name === "string" ? e.name : typeof e.Code === "string" ? e.Code : undefined;
  const code = typeof e.code === "string" ? e.code : undefined;
  return { status, name, code };
}

/** Classifies an S3 failure by HTTP status, error name and errno code (never by message text). */
export function classifyS3Error(
  err: unknown,
  exclusiveCreate = false,
): { kind: FsErrorKind; status: number | string | undefined; name: string | undefined } {
  const { status, name, code } = describeS3Error(err);
  const shownStatus = status ?? code;
  const is = (kind: FsErrorKind) => ({ kind, status: shownStatus, name });
  if (name === "AbortError") return is("Unknown");
  if (status === 412 || name === "PreconditionFailed")
    return is(exclusiveCreate ? "AlreadyExists" : "ConditionFailed");
  if (status === 409 && (exclusiveCreate || name === "ConditionalRequestConflict")) {
    return is(exclusiveCreate ? "AlreadyExists" : "ConditionFailed");
  }
  if (status === 404 || (name !== undefined && NOT_FOUND.has(name))) return is("NotFound");
  if (status === 507 || status === 413 || (name !== undefined && NO_SPACE.has(name))) return is("NoSpace");
  if (status === 401 || status === 403 || (name !== undefined && DENIED.has(name)))
    return is("PermissionDenied");
  if (
    (status !== undefined && TRANSIENT_STATUS.has(status)) ||
    (name !== undefined && TRANSIENT_NAMES.has(name)) ||
    (code !== undefined && TRANSIENT_NETWORK_CODES.has(code))
  ) {
    return is("Transient");
  }
  // A network failure before any response: the SDK leaves no status; the cause chain carries the errno.
  const cause = (err as { cause?: unknown } | null)?.cause;
  if (status === undefined && cause !== undefined && cause !== err) {
    const inner = classifyS3Error(cause, exclusiveCreate);
    if (inner.kind === "Transient") return inner;
  }
  return is("Unknown");
}

/**
 * Maps any error thrown by an S3 call to an {@link FsError}. The message names the operation, the root
 * URL, the key, the kind, the status and the error name; it never copies the SDK message (which may
 * echo request details) and never contains a credential. The original error is the `cause`.
 */
export function toFsError(err: unknown, ctx: S3ErrorContext): FsError {
  if (err instanceof FsError) return err;
  const { kind, status, name } = classifyS3Error(err, ctx.exclusiveCreate);
  const where = ctx.key === undefined ? ctx.root : `${ctx.root}/${ctx.key}`;
  const facts = [status === undefined ? undefined : `status ${status}`, name]
    .filter((s) => s !== undefined)
    .join(", ");
  const what = kind === "AlreadyExists" ? "key already exists" : kind;
  return new FsError(kind, `S3 ${ctx.op} ${where} failed: ${what}${facts ? ` (${facts})` : ""}`, {
    key: ctx.key,
    root: ctx.root,
    status,
    cause: err,
  });
}
