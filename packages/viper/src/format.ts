/**
 * The VIPER Parquet file format: one row per record version.
 *
 * | column     | Arrow type                           | Parquet                     |
 * |------------|--------------------------------------|-----------------------------|
 * | `id`       | Utf8, not null                       | BYTE_ARRAY (UTF8)           |
 * | `sequence` | Int64, not null                      | INT64                       |
 * | `deleted`  | Bool, not null                       | BOOLEAN                     |
 * | `metadata` | Utf8 (JSON text), nullable            | BYTE_ARRAY (UTF8)          |
 * | `vector`   | FixedSizeList<dim, Float32>, not null | LIST of FLOAT              |
 *
 * The key columns come first, so one row group's keys are one contiguous byte range (what the id index
 * reads at a collection's first read). Readers find columns by name: files written with the earlier
 * order (`id, vector, metadata, sequence, deleted`) read the same.
 *
 * The dimension is in the schema (the fixed-size list) and in the key-value metadata
 * (`proximadb.viper.dimension`), so a restart learns it from any file alone.
 */
import * as arrow from "apache-arrow";
import * as pw from "parquet-wasm";
import { DataCorruptionError } from "@proximadb/core";

/** Key-value metadata key holding the format version. */
export const FORMAT_KEY = "proximadb.viper.format";
/** Key-value metadata key holding the vector dimension. */
export const DIMENSION_KEY = "proximadb.viper.dimension";
/** Current format version. */
export const FORMAT_VERSION = "1";

/** Record versions in columnar form: what one Parquet file holds. */
export interface RecordColumns {
  /** Vector dimension. */
  readonly dimension: number;
  readonly ids: readonly string[];
  /** `ids.length * dimension` floats, row-major. */
  readonly vectors: Float32Array;
  /** JSON text or null, per row. */
  readonly metadata: readonly (string | null)[];
  readonly sequences: readonly number[];
  readonly deleted: readonly boolean[];
}

/** The key columns of a file (no vectors, no metadata): what de-duplication needs. */
export interface KeyColumns {
  readonly ids: readonly string[];
  readonly sequences: readonly number[];
  readonly deleted: readonly boolean[];
}

/** Bytes of a record as stored (estimate used to size compaction output). */
export function estimateRowBytes(dimension: number, id: string, metadata: string | null): number {
  return dimension * 4 + id.length + (metadata?.length ?? 0) + 16;
}

function utf8Data(values: readonly (string | null)[]): arrow.Data<arrow.Utf8> {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let total = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nulls++;
    else total += Buffer.byteLength(v, "utf8");
    offsets[i + 1] = total;
  }
  const data = Buffer.allocUnsafe(total);
  let bitmap: Uint8Array | undefined;
  if (nulls > 0) bitmap = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    data.write(v, offsets[i] as number, "utf8");
    if (bitmap) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
  }
  return arrow.makeData({
    type: new arrow.Utf8(),
    length: n,
    nullCount: nulls,
    nullBitmap: bitmap,
    valueOffsets: offsets,
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

function boolData(values: readonly boolean[]): arrow.Data<arrow.Bool> {
  const bits = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++)
    if (values[i]) bits[i >> 3] = (bits[i >> 3] as number) | (1 << (i & 7));
  return arrow.makeData({ type: new arrow.Bool(), length: values.length, nullCount: 0, data: bits });
}

function schemaFor(dimension: number): arrow.Schema {
  const item = new arrow.Field("item", new arrow.Float32(), false);
  return new arrow.Schema(
    [
      new arrow.Field("id", new arrow.Utf8(), false),
      new arrow.Field("sequence", new arrow.Int64(), false),
      new arrow.Field("deleted", new arrow.Bool(), false),
      new arrow.Field("metadata", new arrow.Utf8(), true),
      new arrow.Field("vector", new arrow.FixedSizeList(dimension, item), false),
    ],
    new Map([
      [FORMAT_KEY, FORMAT_VERSION],
      [DIMENSION_KEY, String(dimension)],
    ]),
  );
}

/** Options of {@link encodeParquet}. */
export interface EncodeOptions {
  /** Parquet compression of every column. Default SNAPPY. */
  readonly compression?: pw.Compression;
  /** Rows per row group (the unit a point read fetches). Default: all rows in one group. */
  readonly rowGroupRows?: number;
  /** Upper bound of a data page in bytes (the unit a point read decodes). Default {@link DEFAULT_PAGE_BYTES}. */
  readonly pageBytes?: number;
}

/** Default data page size: a point read decompresses one page of the vector column, about 16 vectors of dim 128. */
export const DEFAULT_PAGE_BYTES = 8 * 1024;

/** Default target size of a row group: what one point read fetches (about 120 records of dim 128). */
export const DEFAULT_ROW_GROUP_BYTES = 64 * 1024;

/** Rows per row group so that one group of these records holds about `rowGroupBytes` (before compression). */
export function rowGroupRowsFor(rowGroupBytes: number, columns: RecordColumns): number {
  const n = columns.ids.length;
  let text = 0;
  for (let i = 0; i < n; i++) text += (columns.ids[i] as string).length + (columns.metadata[i]?.length ?? 0);
  // Per row: the floats, the id and metadata text with their 4-byte lengths, 8 bytes of sequence, a bit.
  const perRow = columns.dimension * 4 + (n === 0 ? 0 : text / n) + 17;
  return Math.max(1, Math.floor(rowGroupBytes / perRow));
}

/** Encodes record versions as one Parquet file (a buffer). Rows are written in the given order. */
export function encodeParquet(columns: RecordColumns, options: EncodeOptions = {}): Uint8Array {
  const n = columns.ids.length;
  const { dimension } = columns;
  const schema = schemaFor(dimension);
  const seq = new BigInt64Array(n);
  for (let i = 0; i < n; i++) seq[i] = BigInt(columns.sequences[i] as number);
  const vectorType = schema.fields[4]?.type as arrow.FixedSizeList<arrow.Float32>;
  const children = [
    utf8Data(columns.ids),
    arrow.makeData({ type: new arrow.Int64(), length: n, nullCount: 0, data: seq }),
    boolData(columns.deleted),
    utf8Data(columns.metadata),
    arrow.makeData({
      type: vectorType,
      length: n,
      nullCount: 0,
      child: arrow.makeData({
        type: new arrow.Float32(),
        length: n * dimension,
        nullCount: 0,
        data: columns.vectors,
      }),
    }),
  ];
  const batch = new arrow.RecordBatch(
    schema,
    arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, nullCount: 0, children }),
  );
  const table = new arrow.Table(schema, [batch]);
  const wasmTable = pw.Table.fromIPCStream(arrow.tableToIPC(table, "stream"));
  const props = new pw.WriterPropertiesBuilder()
    .setCompression(options.compression ?? pw.Compression.SNAPPY)
    .setDictionaryEnabled(false)
    .setMaxRowGroupSize(Math.max(1, Math.min(n, options.rowGroupRows ?? n)))
    .setDataPageSizeLimit(options.pageBytes ?? DEFAULT_PAGE_BYTES)
    // Statistics would only grow the footer (and every page header): VIPER finds rows by its id index.
    .setStatisticsEnabled(pw.EnabledStatistics.None)
    .setKeyValueMetadata(
      new Map([
        [FORMAT_KEY, FORMAT_VERSION],
        [DIMENSION_KEY, String(dimension)],
      ]),
    )
    .setCreatedBy("proximadb-viper")
    .build();
  return pw.writeParquet(wasmTable, props);
}

function readTable(bytes: Uint8Array, key: string, columns?: string[]): arrow.Table {
  try {
    const t = pw.readParquet(bytes, columns ? { columns } : undefined);
    return arrow.tableFromIPC(t.intoIPCStream());
  } catch (cause) {
    throw new DataCorruptionError(`${key} is not a readable Parquet file`, { key, cause });
  }
}

function column<T extends arrow.DataType>(table: arrow.Table, name: string, key: string): arrow.Vector<T> {
  const c = table.getChild(name) as arrow.Vector<T> | null;
  if (!c) throw new DataCorruptionError(`${key} has no '${name}' column; not a VIPER file`, { key });
  return c;
}

function toNumbers(v: arrow.Vector<arrow.Int64>): number[] {
  const out = new Array<number>(v.length);
  let i = 0;
  for (const d of v.data) {
    const values = d.values as BigInt64Array;
    for (let j = 0; j < d.length; j++) out[i++] = Number(values[d.offset + j]);
  }
  return out;
}

function toBooleans(v: arrow.Vector<arrow.Bool>): boolean[] {
  const out = new Array<boolean>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.get(i) === true;
  return out;
}

function toStrings(v: arrow.Vector<arrow.Utf8>): (string | null)[] {
  const out = new Array<string | null>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.get(i) ?? null;
  return out;
}

/** Reads the key columns only (id, sequence, deleted): the vectors are not decoded. */
export function decodeKeys(bytes: Uint8Array, key: string): KeyColumns {
  const table = readTable(bytes, key, ["id", "sequence", "deleted"]);
  return {
    ids: toStrings(column<arrow.Utf8>(table, "id", key)) as string[],
    sequences: toNumbers(column<arrow.Int64>(table, "sequence", key)),
    deleted: toBooleans(column<arrow.Bool>(table, "deleted", key)),
  };
}

/** Decodes a whole VIPER Parquet file. */
export function decodeParquet(bytes: Uint8Array, key: string): RecordColumns {
  const table = readTable(bytes, key);
  const vec = column<arrow.FixedSizeList<arrow.Float32>>(table, "vector", key);
  if (!arrow.DataType.isFixedSizeList(vec.type)) {
    throw new DataCorruptionError(`${key}: 'vector' is not a fixed-size list`, { key });
  }
  const dimension = vec.type.listSize;
  const vectors = new Float32Array(vec.length * dimension);
  let row = 0;
  for (const d of vec.data) {
    const child = d.children[0] as arrow.Data<arrow.Float32>;
    const start = (child.offset + d.offset * dimension) | 0;
    vectors.set(child.values.subarray(start, start + d.length * dimension), row * dimension);
    row += d.length;
  }
  return {
    dimension,
    ids: toStrings(column<arrow.Utf8>(table, "id", key)) as string[],
    vectors,
    metadata: toStrings(column<arrow.Utf8>(table, "metadata", key)),
    sequences: toNumbers(column<arrow.Int64>(table, "sequence", key)),
    deleted: toBooleans(column<arrow.Bool>(table, "deleted", key)),
  };
}
