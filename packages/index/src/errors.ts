import { CollectionRefusal } from "@proximadb/engine";

/**
 * What the index engine refused. Callers branch on the kind, never on message text.
 * - `DimensionMismatch`: a vector's length differs from the collection's dimension.
 * - `InvalidRecord`: a record or query is malformed (empty id, a non-finite component, a zero vector under
 *   `cosine`, a vector that is not a `Float32Array` or an array of numbers).
 * - `NotFound`: the collection has no index (never created, or dropped).
 * - `AlreadyExists`: `create` of a collection that already has an index with other settings.
 *
 * Every kind carries code `INVALID_ARGUMENT`: nothing was changed, in memory or on storage.
 * Damaged index files raise the shared `DataCorruptionError`; use after `close()` the shared `ClosedError`;
 * options out of range the shared `InvalidArgumentError` (all from `@proximadb/core`).
 */
export type IndexErrorKind = "DimensionMismatch" | "InvalidRecord" | "NotFound" | "AlreadyExists";

/** A typed refusal of the index engine. */
export class IndexError extends CollectionRefusal<IndexErrorKind> {}

/** True when `err` is an {@link IndexError} (of the given kind). */
export function isIndexError(err: unknown, kind?: IndexErrorKind): err is IndexError {
  return err instanceof IndexError && (kind === undefined || err.kind === kind);
}
