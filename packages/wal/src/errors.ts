import { ProximaError } from "@proximadb/core";

/**
 * Why the WAL refused an operation:
 * - `InvalidRecord`: a record breaks the record rules (unknown op, bad id, a non-JSON metadata value, …).
 * - `SequenceOverflow`: sequences would pass `Number.MAX_SAFE_INTEGER`.
 *
 * Bad options are core's `InvalidArgumentError`, use after close core's `ClosedError`.
 */
export type WalErrorKind = "InvalidRecord" | "SequenceOverflow";

/** A typed WAL error (code `INVALID_ARGUMENT`). Storage failures are passed through as `FsError`s. */
export class WalError extends ProximaError {
  readonly kind: WalErrorKind;
  constructor(kind: WalErrorKind, message: string) {
    super("INVALID_ARGUMENT", message);
    this.kind = kind;
  }
}
