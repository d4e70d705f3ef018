export { WriteAheadLog } from "./wal.js";
export type { AppendResult, SyncPolicy, WalCorruption, WalOptions, WalRecovery } from "./wal.js";
export type { JsonValue, WalEntry, WalOp, WalRecord } from "./record.js";
export type { DecodeFailure, DecodedSegment, WalEncoding } from "./codec.js";
export { CheckpointAheadError, GroupAbortedError, WalError } from "./errors.js";
export type { WalErrorKind } from "./errors.js";
export { WAL_AVRO_SCHEMA, decodeAvroSegment } from "./avro.js";
export { decodeFrames, encodeFrames } from "./bincode.js";
export { SEQUENCE_DIGITS, parseSegmentKey, segmentKey } from "./segments.js";
