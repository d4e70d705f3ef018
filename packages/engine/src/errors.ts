import { ProximaError } from "@proximadb/core";

/**
 * Why the engine base refused a commit:
 * - `CrossRoot`: the staged file is in another root than the collection's (it was dropped and placed
 *   elsewhere since it was staged); a commit never crosses roots.
 * - `ForeignCollection`: the staged file was not made by this engine's `stage()` (a hand-made or copied
 *   object, or one of another engine), or it is committed already.
 * - `EscapesCollection`: the final name is empty, absolute, has `.`/`..`/empty segments, NUL or backslashes.
 * - `IntoStaging`: the final name points into the reserved `_staging/` folder (or another reserved `_`/`.` name).
 * - `NotAssigned`: the collection has no root in this component (commit of a staged file after `drop`).
 * - `StaleEpoch`: a fence at an epoch below the collection's current one, or a checkpoint, compaction or
 *   garbage deletion by a writer that finds a higher epoch on storage (it was fenced out): nothing changed.
 * - `NotFenced`: the engine was opened with `requireFence` and the collection was not fenced in this
 *   process: it may not modify the collection's files.
 *
 * Use after close is core's `ClosedError`, not an `EngineError`.
 */
export type EngineErrorKind =
  | "CrossRoot"
  | "ForeignCollection"
  | "EscapesCollection"
  | "IntoStaging"
  | "NotAssigned"
  | "StaleEpoch"
  | "NotFenced";

/**
 * A typed refusal about one collection, the shape every engine's refusal takes: a PascalCase
 * {@link CollectionRefusal.kind} callers branch on (never the message) and the collection concerned.
 * Its {@link ProximaError.code} is `INVALID_ARGUMENT`: nothing was touched on storage. Each engine
 * extends it with its own kinds (`EngineError`, the index engine's `IndexError`).
 */
export class CollectionRefusal<K extends string> extends ProximaError {
  /** What was refused. */
  readonly kind: K;
  /** The collection the operation was about. */
  readonly collection: string | undefined;

  constructor(kind: K, message: string, details: { collection?: string } = {}) {
    super("INVALID_ARGUMENT", message);
    this.kind = kind;
    this.collection = details.collection;
  }
}

/**
 * A typed refusal of the engine base. Callers branch on {@link EngineError.kind}, never on the message.
 * Its {@link ProximaError.code} is `INVALID_ARGUMENT`: nothing was touched on storage.
 */
export class EngineError extends CollectionRefusal<EngineErrorKind> {}

/** True when `err` is an {@link EngineError} (of the given kind). */
export function isEngineError(err: unknown, kind?: EngineErrorKind): err is EngineError {
  return err instanceof EngineError && (kind === undefined || err.kind === kind);
}
