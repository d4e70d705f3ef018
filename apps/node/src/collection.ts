import { type CollectionId, InvalidArgumentError, collectionIdProblem } from "@proximadb/core";

/** The storage engine that keeps a collection's vectors. */
export type EngineKind = "viper" | "lsm";

/** Where one component of a collection lives. */
export interface Placement {
  readonly url: string;
  readonly index: number;
}

/**
 * A collection definition, stored as `<metadata root>/<id>/collection.json` (exclusive create).
 * `placements` records where the WAL and engine were placed at creation, so a restart keeps them even
 * for a collection whose WAL or engine has no data file yet (the listing alone would not show it).
 */
export interface CollectionDefinition {
  readonly format: 1;
  readonly id: CollectionId;
  readonly engine: EngineKind;
  readonly dimension: number;
  /** ISO-8601 creation time. */
  readonly createdAt: string;
  readonly placements: { readonly wal: Placement } & Partial<Record<EngineKind, Placement>>;
}

/** File name of a collection definition inside the collection's metadata directory. */
export const DEFINITION_FILE = "collection.json";
/** File name of the WAL checkpoint (last WAL sequence flushed into the engine). */
export const CHECKPOINT_FILE = "wal-checkpoint.json";

/** Largest dimension a collection may have. */
export const MAX_DIMENSION = 65536;
/** Longest record id (UTF-8 bytes are the LSM key). */
export const MAX_RECORD_ID_LENGTH = 512;

/** Why `id` is not a valid record id, or undefined. */
export function recordIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return "must be a string";
  if (id.length === 0) return "must not be empty";
  if (id.length > MAX_RECORD_ID_LENGTH) return `must be at most ${MAX_RECORD_ID_LENGTH} characters`;
  if (id.includes("\0")) return "must not contain NUL";
  return undefined;
}

/** Parses and checks a stored definition; throws InvalidArgumentError when it is not one. */
export function parseDefinition(text: string, where: string): CollectionDefinition {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`${where} is not valid JSON`);
  }
  const d = v as Partial<CollectionDefinition> | null;
  const ok =
    d !== null &&
    typeof d === "object" &&
    d.format === 1 &&
    collectionIdProblem(d.id) === undefined &&
    (d.engine === "viper" || d.engine === "lsm") &&
    Number.isInteger(d.dimension) &&
    (d.dimension as number) >= 1 &&
    (d.dimension as number) <= MAX_DIMENSION &&
    typeof d.createdAt === "string" &&
    typeof d.placements === "object" &&
    d.placements !== null &&
    typeof d.placements.wal?.url === "string";
  if (!ok) throw new InvalidArgumentError(`${where} is not a format-1 collection definition`);
  return d as CollectionDefinition;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * LSM value of a record: `u32 LE dimension | dimension × f32 LE | metadata as UTF-8 JSON` (the JSON
 * part is empty when the record has no metadata). The key is the record id in UTF-8, so a scan lists
 * records in id order.
 */
export function encodeLsmValue(vector: Float32Array, metadata: unknown): Uint8Array {
  const meta =
    metadata === undefined || metadata === null
      ? new Uint8Array(0)
      : encoder.encode(JSON.stringify(metadata));
  const out = new Uint8Array(4 + vector.length * 4 + meta.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, vector.length, true);
  for (let i = 0; i < vector.length; i++) view.setFloat32(4 + i * 4, vector[i] as number, true);
  out.set(meta, 4 + vector.length * 4);
  return out;
}

/** Decodes {@link encodeLsmValue}. */
export function decodeLsmValue(value: Uint8Array): { vector: Float32Array; metadata: unknown } {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const dim = view.getUint32(0, true);
  const vector = new Float32Array(dim);
  for (let i = 0; i < dim; i++) vector[i] = view.getFloat32(4 + i * 4, true);
  const rest = value.subarray(4 + dim * 4);
  return { vector, metadata: rest.length === 0 ? null : JSON.parse(decoder.decode(rest)) };
}

/** UTF-8 key of a record id. */
export function recordKey(id: string): Uint8Array {
  return encoder.encode(id);
}
