import { ProximaError } from "@proximadb/core";

/**
 * What was wrong with an SSTable:
 * - `footer`: the file is too short, or its footer magic, version or checksum is wrong.
 * - `block-checksum`: a data, index, meta or bloom block does not match its CRC32C.
 * - `format`: a block passed its checksum but does not decode (a writer bug or a foreign file).
 */
export type LsmCorruptionKind = "footer" | "block-checksum" | "format";

/**
 * An SSTable failed verification. Raised by every read that touches the damaged part, naming the
 * file's root-relative key; nothing is repaired or deleted behind the caller's back.
 *
 * Its {@link ProximaError.code} is `DATA_CORRUPTION`; branch on
 * `instanceof LsmCorruptionError` or {@link isLsmCorruptionError}, and on {@link LsmCorruptionError.kind}.
 */
export class LsmCorruptionError extends ProximaError {
  /** Which check failed. */
  readonly kind: LsmCorruptionKind;
  /** Root-relative key of the damaged file, e.g. `orders/level-0/00000007.sst`. */
  readonly key: string;
  /** Canonical URL of the root the file lives in. */
  readonly root: string | undefined;
  /** Byte offset of the damaged block, when known. */
  readonly offset: number | undefined;

  constructor(
    kind: LsmCorruptionKind,
    key: string,
    detail: string,
    options: { root?: string; offset?: number } = {},
  ) {
    super("DATA_CORRUPTION", `corrupt SSTable ${key}: ${detail}`);
    this.kind = kind;
    this.key = key;
    this.root = options.root;
    this.offset = options.offset;
  }
}

/** True when `err` is an {@link LsmCorruptionError}. */
export function isLsmCorruptionError(err: unknown): err is LsmCorruptionError {
  return err instanceof LsmCorruptionError;
}
