import { ProximaError } from "@proximadb/core";

/**
 * Why the engine base refused an operation:
 * - `cross-root`: a staged file would be committed into another root (or through another file system).
 * - `foreign-collection`: a staged file of one collection was committed as another's, or it is not under `<id>/_staging/`.
 * - `escapes-collection`: the final name is empty, absolute, has `.`/`..`/empty segments, NUL or backslashes.
 * - `into-staging`: the final name points into the reserved `_staging/` folder (or another reserved `_`/`.` name).
 * - `not-assigned`: the collection has no root in this component (commit of a staged file after `drop`).
 * - `closed`: the engine base was closed.
 */
export type EngineErrorKind =
  | "cross-root"
  | "foreign-collection"
  | "escapes-collection"
  | "into-staging"
  | "not-assigned"
  | "closed";

/**
 * A typed refusal of the engine base. Callers branch on {@link EngineError.kind}, never on the message.
 * Its {@link ProximaError.code} is `INVALID_ARGUMENT`: nothing was touched on storage.
 */
export class EngineError extends ProximaError {
  /** What was refused. */
  readonly kind: EngineErrorKind;
  /** The collection the operation was about. */
  readonly collection: string | undefined;

  constructor(kind: EngineErrorKind, message: string, details: { collection?: string } = {}) {
    super("INVALID_ARGUMENT", message);
    this.kind = kind;
    this.collection = details.collection;
  }
}

/** True when `err` is an {@link EngineError} (of the given kind). */
export function isEngineError(err: unknown, kind?: EngineErrorKind): err is EngineError {
  return err instanceof EngineError && (kind === undefined || err.kind === kind);
}
