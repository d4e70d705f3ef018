import { ProximaError } from "@proximadb/core";

/**
 * What was wrong with the input to VIPER. Callers branch on the kind, never on message text.
 * - `InvalidRecord`: a record is malformed (empty id, vector of the wrong type, metadata that is not a JSON object).
 * - `DimensionMismatch`: a vector's length differs from the collection's dimension.
 *
 * Bad options are core's `InvalidArgumentError`, use after close `ClosedError`, and a damaged data file
 * `DataCorruptionError` (naming the file's key).
 */
export type ViperErrorKind = "InvalidRecord" | "DimensionMismatch";

/** A typed VIPER refusal (code `INVALID_ARGUMENT`): nothing was written. */
export class ViperError extends ProximaError {
  /** What was wrong. */
  readonly kind: ViperErrorKind;
  /** The collection concerned, when there is one. */
  readonly collection: string | undefined;

  constructor(kind: ViperErrorKind, message: string, details: { collection?: string; cause?: unknown } = {}) {
    super("INVALID_ARGUMENT", message, { cause: details.cause });
    this.kind = kind;
    this.collection = details.collection;
  }
}

/** True when `err` is a {@link ViperError} (of the given kind). */
export function isViperError(err: unknown, kind?: ViperErrorKind): err is ViperError {
  return err instanceof ViperError && (kind === undefined || err.kind === kind);
}
