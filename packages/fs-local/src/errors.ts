import { FsError, type FsErrorKind } from "@proximadb/core";

/** errno codes that mean "try again later". */
const TRANSIENT = new Set(["EMFILE", "ENFILE", "EAGAIN", "EBUSY", "EINTR", "ETIMEDOUT", "ECONNRESET"]);

/** Maps an errno code to the {@link FsErrorKind} callers branch on. */
export function kindOfErrno(code: string | undefined): FsErrorKind {
  switch (code) {
    case "ENOENT":
      return "NotFound";
    case "EEXIST":
      return "AlreadyExists";
    case "EACCES":
    case "EPERM":
    case "EROFS":
      return "PermissionDenied";
    case "EXDEV":
      return "Unsupported";
    case "ENAMETOOLONG":
      return "InvalidKey";
    case "ENOSPC":
    case "EDQUOT":
    case "EFBIG":
      return "NoSpace";
    default:
      // EIO and anything unexpected: not retryable by default.
      return code !== undefined && TRANSIENT.has(code) ? "Transient" : "Unknown";
  }
}

/** The errno code of a node:fs (or memfs) error, if any. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Wraps a node:fs error into an {@link FsError}. The message names the operation, the root-relative key
 * and the root URL, never an absolute path outside the root.
 */
export function toFsError(err: unknown, op: string, root: string, key?: string, kind?: FsErrorKind): FsError {
  if (err instanceof FsError) return err;
  const code = errnoOf(err);
  const k = kind ?? kindOfErrno(code);
  const what = key === undefined ? root : `${JSON.stringify(key)} in ${root}`;
  return new FsError(k, `${op} ${what} failed: ${code ?? "error"}`, { key, root, status: code, cause: err });
}
