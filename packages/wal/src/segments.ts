import { avroCodec } from "./avro.js";
import { bincodeCodec } from "./bincode.js";
import type { SegmentCodec, WalEncoding } from "./codec.js";

/** Digits of the zero-padded first sequence in a segment name (u64 fits in 20). */
export const SEQUENCE_DIGITS = 20;
const SEGMENT_NAME = /^wal-(\d{20})\.(avro|bincode)$/;

/** The codec of each encoding. */
export const CODECS: Readonly<Record<WalEncoding, SegmentCodec>> = { avro: avroCodec, bincode: bincodeCodec };

/** A segment file: `<id>/wal-<first sequence, 20 digits>.<ext>`. */
export interface SegmentInfo {
  readonly key: string;
  /** Sequence of its first record; name order = sequence order = replay order. */
  readonly first: number;
  readonly codec: SegmentCodec;
}

/** The key of the segment of collection dir `dir` ("<id>/") whose first record is `first`. */
export function segmentKey(dir: string, first: number, codec: SegmentCodec): string {
  return `${dir}wal-${String(first).padStart(SEQUENCE_DIGITS, "0")}${codec.ext}`;
}

/** Parses a segment key, or `undefined` for any other file. */
export function parseSegmentKey(dir: string, key: string): SegmentInfo | undefined {
  if (!key.startsWith(dir)) return undefined;
  const m = SEGMENT_NAME.exec(key.slice(dir.length));
  if (!m) return undefined;
  const first = Number(m[1]);
  if (!Number.isSafeInteger(first)) return undefined;
  return { key, first, codec: CODECS[m[2] as WalEncoding] };
}
