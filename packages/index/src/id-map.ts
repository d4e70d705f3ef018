import { crc32 } from "node:zlib";
import { DataCorruptionError } from "@proximadb/core";
import { type Metric, isMetric } from "./metric.js";

/** The settings a collection's index is built with, fixed at creation. */
export interface IndexSettings {
  /** Vector dimension (1–65,536). */
  readonly dimension: number;
  readonly metric: Metric;
  /** HNSW `M`: links per node and layer (2–100). */
  readonly m: number;
  /** HNSW `efConstruction`: candidate list size while inserting (≥ `m`, ≤ 4,096). */
  readonly efConstruction: number;
  /** Default search `ef`: candidate list size while searching (1–4,096); a query may ask for another. */
  readonly efSearch: number;
}

/** Everything an `.idx` file holds. */
export interface IdMapSnapshot {
  readonly collection: string;
  readonly settings: IndexSettings;
  /** The generation this id map commits. */
  readonly generation: number;
  /** The highest data sequence the index covers (as the caller reported it; 0 when never reported). */
  readonly sequence: number;
  /** The next label to assign. */
  readonly nextLabel: number;
  /** Size and CRC-32 of the generation's `.hnsw` file. */
  readonly hnsw: { readonly bytes: number; readonly crc32: number };
  /** Live record ids and their labels, in the same order. */
  readonly ids: readonly string[];
  readonly labels: readonly number[];
  /** Labels still in the graph but deleted or replaced: never returned, dropped by compaction. */
  readonly tombstones: readonly number[];
}

/** `.idx` files start with these 8 bytes, then u32 LE body length, u32 LE CRC-32 of the body, the body (JSON). */
const MAGIC = Buffer.from("PXDBIDX1", "latin1");
const HEADER = 16;
const FORMAT = 1;

/** Encodes an id map as an `.idx` file. */
export function encodeIdMap(snapshot: IdMapSnapshot): Uint8Array {
  const body = Buffer.from(JSON.stringify({ format: FORMAT, ...snapshot }), "utf8");
  const out = Buffer.alloc(HEADER + body.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(body.length, 8);
  out.writeUInt32LE(crc32(body), 12);
  body.copy(out, HEADER);
  return out;
}

/**
 * Decodes an `.idx` file, checking its frame, checksum and every field.
 * @throws DataCorruptionError naming the key
 */
export function decodeIdMap(bytes: Uint8Array, where: { key: string; root?: string }): IdMapSnapshot {
  const bad = (why: string, cause?: unknown) =>
    new DataCorruptionError(`index id map ${where.key} is damaged: ${why}`, { ...where, cause });
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER || !buf.subarray(0, 8).equals(MAGIC)) throw bad("not an id map (bad magic)");
  const length = buf.readUInt32LE(8);
  if (buf.length !== HEADER + length) throw bad(`${buf.length} bytes, the header says ${HEADER + length}`);
  const body = buf.subarray(HEADER);
  if (crc32(body) !== buf.readUInt32LE(12)) throw bad("checksum mismatch");
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch (cause) {
    throw bad("body is not JSON", cause);
  }
  const int = (x: unknown, min = 0) => Number.isSafeInteger(x) && (x as number) >= min;
  const s = v.settings as Record<string, unknown> | undefined;
  const h = v.hnsw as Record<string, unknown> | undefined;
  if (v.format !== FORMAT) throw bad(`unknown format ${JSON.stringify(v.format)}`);
  if (typeof v.collection !== "string") throw bad("no collection");
  if (
    !s ||
    !int(s.dimension, 1) ||
    !isMetric(s.metric) ||
    !int(s.m, 2) ||
    !int(s.efConstruction, 1) ||
    !int(s.efSearch, 1)
  ) {
    throw bad("bad settings");
  }
  if (!int(v.generation, 1) || !int(v.sequence) || !int(v.nextLabel)) throw bad("bad counters");
  if (!h || !int(h.bytes) || !int(h.crc32)) throw bad("bad .hnsw reference");
  const { ids, labels, tombstones } = v;
  if (
    !Array.isArray(ids) ||
    !Array.isArray(labels) ||
    !Array.isArray(tombstones) ||
    ids.length !== labels.length
  ) {
    throw bad("bad id lists");
  }
  const next = v.nextLabel as number;
  const seen = new Set<number>();
  for (const l of [...labels, ...tombstones]) {
    if (!int(l) || (l as number) >= next || seen.has(l as number))
      throw bad(`bad label ${JSON.stringify(l)}`);
    seen.add(l as number);
  }
  const unique = new Set<string>();
  for (const id of ids) {
    if (typeof id !== "string" || id === "" || unique.has(id)) throw bad(`bad id ${JSON.stringify(id)}`);
    unique.add(id);
  }
  return {
    collection: v.collection,
    settings: {
      dimension: s.dimension as number,
      metric: s.metric,
      m: s.m as number,
      efConstruction: s.efConstruction as number,
      efSearch: s.efSearch as number,
    },
    generation: v.generation as number,
    sequence: v.sequence as number,
    nextLabel: next,
    hnsw: { bytes: h.bytes as number, crc32: h.crc32 as number },
    ids: ids as string[],
    labels: labels as number[],
    tombstones: tombstones as number[],
  };
}
