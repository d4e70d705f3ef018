import type { RecordColumns } from "./format.js";
import { ViperError } from "./errors.js";

/** A record as written: the newest version of an id wins; `deleted: true` is a tombstone. */
export interface VectorRecord {
  /** Record id (non-empty). */
  readonly id: string;
  /** The vector; its length must equal the collection's dimension. May be omitted for a tombstone. */
  readonly vector?: Float32Array | readonly number[];
  /** A JSON object stored as JSON text. */
  readonly metadata?: Record<string, unknown> | null;
  /** Marks the record deleted (a tombstone hides every older version). */
  readonly deleted?: boolean;
}

/** A live record as read back. */
export interface StoredRecord {
  readonly id: string;
  readonly vector: Float32Array;
  readonly metadata: Record<string, unknown> | null;
  /** Sequence of the flush that wrote this version. */
  readonly sequence: number;
}

/** A stored row as a {@link StoredRecord}. */
export function rowOf(cols: RecordColumns, row: number): StoredRecord {
  const d = cols.dimension;
  const meta = cols.metadata[row];
  return {
    id: cols.ids[row] as string,
    vector: cols.vectors.slice(row * d, (row + 1) * d),
    metadata: meta === null || meta === undefined ? null : (JSON.parse(meta) as Record<string, unknown>),
    sequence: cols.sequences[row] as number,
  };
}

/** Rows copied by a compaction into one output part. */
export class PartBuffer {
  readonly ids: string[] = [];
  readonly metadata: (string | null)[] = [];
  readonly sequences: number[] = [];
  vectors: Float32Array;
  length = 0;

  constructor(
    readonly dimension: number,
    capacity: number,
  ) {
    this.vectors = new Float32Array(Math.max(0, capacity) * dimension);
  }

  push(cols: RecordColumns, row: number): void {
    const d = this.dimension;
    if ((this.length + 1) * d > this.vectors.length) {
      const grown = new Float32Array(Math.max(16, this.length * 2) * d);
      grown.set(this.vectors);
      this.vectors = grown;
    }
    this.vectors.set(cols.vectors.subarray(row * d, (row + 1) * d), this.length * d);
    this.ids.push(cols.ids[row] as string);
    this.metadata.push(cols.metadata[row] ?? null);
    this.sequences.push(cols.sequences[row] as number);
    this.length++;
  }

  columns(): RecordColumns {
    return {
      dimension: this.dimension,
      ids: this.ids,
      vectors: this.vectors.subarray(0, this.length * this.dimension),
      metadata: this.metadata,
      sequences: this.sequences,
      deleted: new Array<boolean>(this.length).fill(false),
    };
  }
}

/** Validates a batch and lays it out as columns; the last version of a repeated id wins. */
export function toColumns(
  collection: string,
  dimension: number,
  sequence: number,
  records: readonly VectorRecord[],
): RecordColumns {
  const last = new Map<string, number>();
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    if (r === null || typeof r !== "object")
      throw new ViperError("InvalidRecord", `record ${i} is not an object`, { collection });
    if (typeof r.id !== "string" || r.id.length === 0) {
      throw new ViperError("InvalidRecord", `record ${i} needs a non-empty string id`, { collection });
    }
    last.set(r.id, i);
  }
  const n = last.size;
  const ids: string[] = [];
  const metadata: (string | null)[] = [];
  const deleted: boolean[] = [];
  const vectors = new Float32Array(n * dimension);
  let row = 0;
  for (const i of [...last.values()].sort((a, b) => a - b)) {
    const r = records[i] as VectorRecord;
    const isDeleted = r.deleted === true;
    const v = r.vector;
    if (v === undefined) {
      if (!isDeleted)
        throw new ViperError("InvalidRecord", `record ${JSON.stringify(r.id)} has no vector`, { collection });
    } else {
      if (!(v instanceof Float32Array) && !Array.isArray(v)) {
        throw new ViperError(
          "InvalidRecord",
          `record ${JSON.stringify(r.id)}: vector must be a Float32Array or an array of numbers`,
          { collection },
        );
      }
      if (v.length !== dimension) {
        throw new ViperError(
          "DimensionMismatch",
          `record ${JSON.stringify(r.id)} has ${v.length} dimensions; collection ${collection} has ${dimension}`,
          {
            collection,
          },
        );
      }
      vectors.set(v, row * dimension);
    }
    let meta: string | null = null;
    if (r.metadata !== undefined && r.metadata !== null) {
      if (typeof r.metadata !== "object" || Array.isArray(r.metadata)) {
        throw new ViperError(
          "InvalidRecord",
          `record ${JSON.stringify(r.id)}: metadata must be a JSON object`,
          { collection },
        );
      }
      try {
        meta = JSON.stringify(r.metadata);
      } catch (cause) {
        throw new ViperError(
          "InvalidRecord",
          `record ${JSON.stringify(r.id)}: metadata is not serialisable as JSON`,
          { collection, cause },
        );
      }
    }
    ids.push(r.id);
    metadata.push(meta);
    deleted.push(isDeleted);
    row++;
  }
  return { dimension, ids, vectors, metadata, sequences: new Array<number>(n).fill(sequence), deleted };
}
