import { DataCorruptionError } from "@proximadb/core";

/**
 * What was wrong with an SSTable:
 * - `Footer`: the file is too short, or its footer magic, version or checksum is wrong.
 * - `BlockChecksum`: a data, index, meta or bloom block does not match its CRC32C.
 * - `Format`: a block passed its checksum but does not decode (a writer bug or a foreign file).
 */
export type LsmCorruptionKind = "Footer" | "BlockChecksum" | "Format";

/**
 * An SSTable failed verification: core's {@link DataCorruptionError} (code `DATA_CORRUPTION`) with the
 * check that failed and the offset of the damaged block. Raised by every read that touches the damaged
 * part, naming the file's root-relative key; nothing is repaired or deleted behind the caller's back.
 *
 * Branch on `instanceof DataCorruptionError` (every engine), or on `instanceof LsmCorruptionError` and
 * {@link LsmCorruptionError.kind}.
 */
export class LsmCorruptionError extends DataCorruptionError {
  /** Which check failed. */
  readonly kind: LsmCorruptionKind;
  /** Root-relative key of the damaged file, e.g. `orders/level-0/00000007.sst`. */
  declare readonly key: string;
  /** Byte offset of the damaged block, when known. */
  readonly offset: number | undefined;

  constructor(
    kind: LsmCorruptionKind,
    key: string,
    detail: string,
    options: { root?: string; offset?: number } = {},
  ) {
    super(`corrupt SSTable ${key}: ${detail}`, {
      key,
      ...(options.root === undefined ? {} : { root: options.root }),
    });
    this.kind = kind;
    this.offset = options.offset;
  }
}

/** True when `err` is an {@link LsmCorruptionError}. */
export function isLsmCorruptionError(err: unknown): err is LsmCorruptionError {
  return err instanceof LsmCorruptionError;
}
