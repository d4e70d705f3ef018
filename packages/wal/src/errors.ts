import { ProximaError } from "@proximadb/core";

/**
 * Why the WAL refused an operation:
 * - `closed`: the WAL was closed.
 * - `invalid-record`: a record breaks the record rules (unknown op, bad id, a non-JSON metadata value, …).
 * - `invalid-config`: a bad option (`encoding`, `sync`, `segmentBytes`).
 * - `sequence-overflow`: sequences would pass `Number.MAX_SAFE_INTEGER`.
 */
export type WalErrorKind = "closed" | "invalid-record" | "invalid-config" | "sequence-overflow";

/** A typed WAL error. Storage failures are passed through as `FsError`s. */
export class WalError extends ProximaError {
  readonly kind: WalErrorKind;
  constructor(kind: WalErrorKind, message: string) {
    super("INVALID_ARGUMENT", message);
    this.kind = kind;
  }
}
