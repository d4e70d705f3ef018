import { WalError } from "./errors.js";

/** A JSON value (record metadata). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** The operation a record logs. */
export type WalOp = "put" | "delete";

/**
 * What callers append. VIPER logs `{ op: "put", id, vector, metadata }` and `{ op: "delete", id }`;
 * an engine with its own record format (LSM key/values) puts its bytes in `payload`.
 */
export interface WalEntry {
  readonly op: WalOp;
  /** Record (vector or key) id; any string. */
  readonly id: string;
  readonly vector?: Float32Array;
  /** Any JSON value; stored as JSON text. */
  readonly metadata?: JsonValue;
  /** Opaque bytes for engines with their own record format. */
  readonly payload?: Uint8Array;
  /** Milliseconds since the epoch; default: the time of the append. */
  readonly timestamp?: number;
}

/** A record as replayed: the entry plus the sequence the WAL assigned and its collection. */
export interface WalRecord {
  /** Per collection, strictly increasing across restarts (a safe integer, starting at 1). */
  readonly sequence: number;
  readonly collection: string;
  readonly op: WalOp;
  readonly id: string;
  readonly vector?: Float32Array;
  readonly metadata?: JsonValue;
  readonly payload?: Uint8Array;
  readonly timestamp: number;
}

/** A record ready to encode: metadata already JSON text. */
export interface EncodableRecord {
  sequence: number;
  timestamp: number;
  collection: string;
  op: WalOp;
  id: string;
  vector: Float32Array | undefined;
  metadata: string | undefined;
  payload: Uint8Array | undefined;
}

/** Validates an entry and turns it into an {@link EncodableRecord}. */
export function toEncodable(
  collection: string,
  sequence: number,
  entry: WalEntry,
  now: number,
): EncodableRecord {
  if (entry === null || typeof entry !== "object")
    throw new WalError("InvalidRecord", "a WAL record must be an object");
  if (entry.op !== "put" && entry.op !== "delete") {
    throw new WalError(
      "InvalidRecord",
      `record op must be "put" or "delete" (got ${JSON.stringify(entry.op)})`,
    );
  }
  if (typeof entry.id !== "string") throw new WalError("InvalidRecord", "record id must be a string");
  if (entry.vector !== undefined && !(entry.vector instanceof Float32Array)) {
    throw new WalError("InvalidRecord", `record ${entry.id}: vector must be a Float32Array`);
  }
  if (entry.payload !== undefined && !(entry.payload instanceof Uint8Array)) {
    throw new WalError("InvalidRecord", `record ${entry.id}: payload must be a Uint8Array`);
  }
  const timestamp = entry.timestamp ?? now;
  if (!Number.isSafeInteger(timestamp))
    throw new WalError("InvalidRecord", `record ${entry.id}: timestamp must be an integer`);
  let metadata: string | undefined;
  if (entry.metadata !== undefined) {
    try {
      metadata = JSON.stringify(entry.metadata);
    } catch {
      throw new WalError("InvalidRecord", `record ${entry.id}: metadata is not JSON-serialisable`);
    }
    if (metadata === undefined)
      throw new WalError("InvalidRecord", `record ${entry.id}: metadata is not a JSON value`);
  }
  return {
    sequence,
    timestamp,
    collection,
    op: entry.op,
    id: entry.id,
    vector: entry.vector,
    metadata,
    payload: entry.payload,
  };
}

/** Turns a decoded record back into the public shape. */
export function fromEncodable(r: EncodableRecord): WalRecord {
  const out: { -readonly [K in keyof WalRecord]: WalRecord[K] } = {
    sequence: r.sequence,
    collection: r.collection,
    op: r.op,
    id: r.id,
    timestamp: r.timestamp,
  };
  if (r.vector !== undefined) out.vector = r.vector;
  if (r.metadata !== undefined) out.metadata = JSON.parse(r.metadata) as JsonValue;
  if (r.payload !== undefined) out.payload = r.payload;
  return out;
}
