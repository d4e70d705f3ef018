import { DataCorruptionError, ProximaError } from "@proximadb/core";

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

/**
 * A checkpoint kept outside the log (the node's catalog) is above the last sequence the log holds: the
 * log lost records the checkpoint says were written (its folder was lost or re-created), so sequences
 * after the checkpoint can no longer be told apart from the lost ones. Raised by
 * {@link WriteAheadLog.recover}; a `DataCorruptionError` (code `DATA_CORRUPTION`).
 */
export class CheckpointAheadError extends DataCorruptionError {
  /** The collection whose log is behind its checkpoint. */
  readonly collection: string;
  /** The checkpoint the caller keeps. */
  readonly checkpoint: number;
  /** The last sequence the log holds (0: none). */
  readonly lastSequence: number;
  constructor(collection: string, checkpoint: number, lastSequence: number, root: string) {
    super(
      `the WAL of ${collection} ends at sequence ${lastSequence}, below its checkpoint ${checkpoint}: segments were lost (${root})`,
      { root },
    );
    this.collection = collection;
    this.checkpoint = checkpoint;
    this.lastSequence = lastSequence;
  }
}

/**
 * An append group that was not acknowledged because an earlier group of the same collection, in flight
 * beside it, failed (object stores keep several groups in flight; acknowledgements follow sequence order,
 * so nothing is acknowledged past a failed group). Its records may or may not be durable, like those of a
 * failed group: a restart may replay them. Retryable (append again: the records get new sequences).
 * Code `FS_ERROR`; `cause` is the earlier group's error.
 */
export class GroupAbortedError extends ProximaError {
  /** The collection whose log refused the group. */
  readonly collection: string;
  /** The first sequence of the earlier group that failed. */
  readonly failedFirst: number;
  constructor(collection: string, failedFirst: number, cause: unknown) {
    super(
      "FS_ERROR",
      `not acknowledged: an earlier append group of ${collection} (from sequence ${failedFirst}) failed; these records may or may not be durable`,
      { cause, retryable: true },
    );
    this.collection = collection;
    this.failedFirst = failedFirst;
  }
}
