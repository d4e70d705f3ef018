import { epochCutoffs, epochSuffix, parseEpochDigits } from "@proximadb/engine";
import { avroCodec } from "./avro.js";
import { bincodeCodec } from "./bincode.js";
import type { SegmentCodec, WalEncoding } from "./codec.js";

/** Digits of the zero-padded first sequence in a segment name (u64 fits in 20). */
export const SEQUENCE_DIGITS = 20;
const SEGMENT_NAME = /^wal-(\d{20})(?:-e(\d{10}))?\.(avro|bincode)$/;

/** The codec of each encoding. */
export const CODECS: Readonly<Record<WalEncoding, SegmentCodec>> = { avro: avroCodec, bincode: bincodeCodec };

/**
 * A segment file: `<id>/wal-<first sequence, 20 digits>-e<writer epoch, 10 digits>.<ext>`; a segment of
 * epoch 0 (an unfenced writer) has no `-e` part: `<id>/wal-<first>.<ext>`.
 */
export interface SegmentInfo {
  readonly key: string;
  /** Sequence of its first record. */
  readonly first: number;
  /** The writer epoch it was written at (0: unfenced). Replay order is (epoch, first). */
  readonly epoch: number;
  readonly codec: SegmentCodec;
}

/** The key of the segment of collection dir `dir` ("<id>/") whose first record is `first`. */
export function segmentKey(dir: string, first: number, codec: SegmentCodec, epoch = 0): string {
  return `${dir}wal-${String(first).padStart(SEQUENCE_DIGITS, "0")}${epochSuffix(epoch)}${codec.ext}`;
}

/** Parses a segment key, or `undefined` for any other file. */
export function parseSegmentKey(dir: string, key: string): SegmentInfo | undefined {
  if (!key.startsWith(dir)) return undefined;
  const m = SEGMENT_NAME.exec(key.slice(dir.length));
  if (!m) return undefined;
  const first = Number(m[1]);
  const epoch = parseEpochDigits(m[2]);
  if (!Number.isSafeInteger(first) || Number.isNaN(epoch)) return undefined;
  return { key, first, epoch, codec: CODECS[m[3] as WalEncoding] };
}

/** Replay order: by epoch, then by first sequence. */
export function compareSegments(a: SegmentInfo, b: SegmentInfo): number {
  return a.epoch - b.epoch || a.first - b.first;
}

/**
 * The fencing rule: the sequence from which records of each epoch are stale (written by an owner fenced
 * out by a higher epoch, after that epoch started). Infinity for the highest epoch.
 */
export function segmentCutoffs(segments: readonly SegmentInfo[]): (epoch: number) => number {
  return epochCutoffs(segments);
}
