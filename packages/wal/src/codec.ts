import type { EncodableRecord } from "./record.js";

/** The two segment encodings. */
export type WalEncoding = "avro" | "bincode";

/** Why a segment stops being readable at some offset. */
export interface DecodeFailure {
  /** Byte offset where the unreadable tail starts (everything before it decoded cleanly). */
  readonly offset: number;
  /** `torn`: the file ends inside a record/block; `checksum`: CRC32C mismatch; `sync-marker`: Avro sync marker mismatch; `malformed`: undecodable bytes. */
  readonly reason: "torn" | "checksum" | "sync-marker" | "malformed";
}

/** Result of decoding one segment. */
export interface DecodedSegment {
  readonly records: EncodableRecord[];
  /** Bytes that decoded cleanly (a prefix of the file); equals the file size when `failure` is undefined. */
  readonly validBytes: number;
  /** Bytes of a complete header (Avro) or 0; a segment whose `validBytes` does not exceed this holds no records. */
  readonly headerBytes: number;
  readonly failure: DecodeFailure | undefined;
}

/** What recovery needs from a segment: {@link DecodedSegment} with a count instead of the records. */
export interface SegmentScan extends Omit<DecodedSegment, "records"> {
  /** Records that decoded cleanly. */
  readonly records: number;
  /** Sequence of the last of them. */
  readonly lastSequence: number | undefined;
}

/** Per-segment writer state (the Avro sync marker). */
export interface SegmentWriter {
  /** Bytes that start the segment (Avro header; empty for bincode). */
  readonly header: Uint8Array;
  /**
   * Encodes one append group (an Avro block; bincode frames) into one new buffer, after `prefix` when given
   * (the segment header, so a new segment's first write is one buffer without a concat). When `reuse` is
   * large enough the bytes are written into it and a view of it is returned (valid until its next use):
   * a log writing group after group keeps one write buffer instead of allocating one per group.
   */
  encode(records: readonly EncodableRecord[], prefix?: Uint8Array, reuse?: Buffer): Uint8Array;
}

/** One segment encoding. */
export interface SegmentCodec {
  readonly encoding: WalEncoding;
  /** File extension with the dot. */
  readonly ext: string;
  /** Starts a new segment. */
  newSegment(): SegmentWriter;
  /** Decodes a whole segment, stopping at the first unreadable byte. */
  decode(bytes: Uint8Array): DecodedSegment;
  /** Checks a whole segment exactly as {@link decode} does, without building records (recovery). */
  scan(bytes: Uint8Array): SegmentScan;
}
