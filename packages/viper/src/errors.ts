import { ProximaError } from "@proximadb/core";

/**
 * What went wrong in VIPER. Callers branch on the kind, never on message text.
 * - `InvalidRecord`: a record is malformed (empty id, vector of the wrong type, metadata that is not a JSON object).
 * - `DimensionMismatch`: a vector's length differs from the collection's dimension.
 * - `InvalidOption`: an option is out of range (e.g. `targetFileBytes <= 0`).
 * - `CorruptFile`: a data file in the live set is not a VIPER Parquet file (bad footer, missing column).
 * - `Closed`: the engine was closed.
 */
export type ViperErrorKind =
  | "InvalidRecord"
  | "DimensionMismatch"
  | "InvalidOption"
  | "CorruptFile"
  | "Closed";

/** A typed VIPER error. Input problems carry code `INVALID_ARGUMENT`, file problems `FS_ERROR`. */
export class ViperError extends ProximaError {
  /** What went wrong. */
  readonly kind: ViperErrorKind;
  /** The collection concerned, when there is one. */
  readonly collection: string | undefined;
  /** Root-relative key of the file concerned, when there is one. */
  readonly key: string | undefined;

  constructor(
    kind: ViperErrorKind,
    message: string,
    details: { collection?: string; key?: string; cause?: unknown } = {},
  ) {
    super(kind === "CorruptFile" ? "DATA_CORRUPTION" : "INVALID_ARGUMENT", message, { cause: details.cause });
    this.kind = kind;
    this.collection = details.collection;
    this.key = details.key;
  }
}

/** True when `err` is a {@link ViperError} (of the given kind). */
export function isViperError(err: unknown, kind?: ViperErrorKind): err is ViperError {
  return err instanceof ViperError && (kind === undefined || err.kind === kind);
}
