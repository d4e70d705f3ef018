/**
 * Point reads out of VIPER's Parquet files. A file's footer is boiled down to where its row groups and
 * column chunks lie (a {@link FileLayout}: a few typed arrays, kept per live file); from the bytes of one
 * row group the layout decodes the key columns (for the id index) or one row (for `get`), decompressing
 * only the data page of the vector column that holds the row.
 *
 * Decoding uses hyparquet (pure JavaScript, decodes any byte range it is handed); writing and whole-file
 * reads (`scan`, `compact`) stay with parquet-wasm.
 */
import { DataCorruptionError } from "@proximadb/core";
import {
  type ColumnMetaData,
  type DataReader,
  type DecodedArray,
  type FileMetaData,
  type SchemaTree,
  parquetMetadata,
  parquetSchema,
} from "hyparquet";
import { parquetHeader, readColumn } from "hyparquet/src/column.js";
import { DEFAULT_PARSERS } from "hyparquet/src/convert.js";
import { decompressPage, readDataPage, readDataPageV2 } from "hyparquet/src/datapage.js";
import { getTreePath } from "hyparquet/src/schema.js";
import { DIMENSION_KEY } from "./format.js";

/** Reads `length` bytes at `offset` of one file. */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

/** A byte range of a file. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** One row as stored. */
export interface DecodedRow {
  readonly id: string;
  readonly sequence: number;
  readonly deleted: boolean;
  /** JSON text or null. */
  readonly metadata: string | null;
  readonly vector: Float32Array;
}

/** The key columns of one row group, in row order. */
export interface RowGroupKeys {
  readonly ids: readonly string[];
  readonly deleted: readonly boolean[];
}

type ColumnDecoder = Parameters<typeof readColumn>[2];

// Slots of the per-column arrays, in the order VIPER writes the columns (key columns first).
const COLUMNS = ["id", "sequence", "deleted", "metadata", "vector"] as const;
const ID = 0;
const SEQUENCE = 1;
const DELETED = 2;
const METADATA = 3;
const VECTOR = 4;
const NCOLS = COLUMNS.length;
const KEY_COLUMNS = [ID, DELETED] as const;

/** Parsers that leave text as bytes: a point read decodes only the one id and metadata it returns. */
const RAW_TEXT = { ...DEFAULT_PARSERS, stringFromBytes: (bytes: Uint8Array) => bytes as unknown as string };
const utf8 = new TextDecoder();

/** Bytes read from the end of a file in the hope of getting its whole footer in one read. */
export const FOOTER_GUESS_BYTES = 64 * 1024;

function corrupt(key: string, why: string, cause?: unknown): DataCorruptionError {
  return new DataCorruptionError(`${key}: ${why}`, { key, cause });
}

/**
 * Where the row groups and column chunks of one VIPER file lie, and how to decode them: what a point read
 * needs from the footer. Per row group it keeps the first row and the byte range of each column chunk
 * (84 bytes), so the hyparquet metadata object (several KB per row group) is dropped once parsed.
 */
export class FileLayout {
  /** Root-relative key (named in errors). */
  readonly key: string;
  /** Rows in the file. */
  readonly rows: number;
  /** Vector dimension from the key-value metadata. */
  readonly dimension: number;
  /** Number of row groups. */
  readonly rowGroups: number;
  /** `rowStarts[g]` is the first row of group g; `rowStarts[rowGroups]` is `rows`. */
  readonly #rowStarts: Float64Array;
  /** Start and end byte of column chunk c of group g at `(g * NCOLS + c) * 2`. */
  readonly #chunks: Float64Array;
  /** Decoder of each column (codec of its first chunk). */
  readonly #decoders: ColumnDecoder[];
  /** Codec of every chunk, when a file mixes codecs (never for VIPER's own files). */
  readonly #codecs: ColumnMetaData["codec"][] | undefined;

  private constructor(
    key: string,
    dimension: number,
    rowStarts: Float64Array,
    chunks: Float64Array,
    decoders: ColumnDecoder[],
    codecs: ColumnMetaData["codec"][] | undefined,
  ) {
    this.key = key;
    this.dimension = dimension;
    this.rowGroups = rowStarts.length - 1;
    this.rows = rowStarts[this.rowGroups] as number;
    this.#rowStarts = rowStarts;
    this.#chunks = chunks;
    this.#decoders = decoders;
    this.#codecs = codecs;
  }

  /**
   * The layout from the last bytes of a file (at least its footer: metadata, its length and `PAR1`).
   * @throws DataCorruptionError when the bytes are not a VIPER Parquet footer
   */
  static fromFooter(key: string, tail: Uint8Array): FileLayout {
    let meta: FileMetaData;
    try {
      meta = parquetMetadata(tail, { geoparquet: false });
    } catch (cause) {
      throw corrupt(key, "not a readable Parquet footer", cause);
    }
    return FileLayout.#fromMetadata(key, meta);
  }

  static #fromMetadata(key: string, meta: FileMetaData): FileLayout {
    const dimText = meta.key_value_metadata?.find((kv) => kv.key === DIMENSION_KEY)?.value;
    const dimension = Number(dimText);
    if (!Number.isInteger(dimension) || dimension < 1)
      throw corrupt(key, `no ${DIMENSION_KEY} in the footer; not a VIPER file`);
    const groups = meta.row_groups;
    const rowStarts = new Float64Array(groups.length + 1);
    const chunks = new Float64Array(groups.length * NCOLS * 2);
    const tree = parquetSchema(meta);
    const decoders: ColumnDecoder[] = [];
    let codecs: ColumnMetaData["codec"][] | undefined;
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g] as FileMetaData["row_groups"][number];
      rowStarts[g + 1] = (rowStarts[g] as number) + Number(group.num_rows);
      for (const chunk of group.columns) {
        const md = chunk.meta_data;
        if (!md) throw corrupt(key, "a column chunk has no metadata");
        const c = COLUMNS.indexOf(md.path_in_schema[0] as (typeof COLUMNS)[number]);
        if (c < 0) continue;
        const data = Number(md.data_page_offset);
        const dict = md.dictionary_page_offset === undefined ? data : Number(md.dictionary_page_offset);
        const start = dict > 0 && dict < data ? dict : data;
        chunks[(g * NCOLS + c) * 2] = start;
        chunks[(g * NCOLS + c) * 2 + 1] = start + Number(md.total_compressed_size);
        if (g === 0) decoders[c] = decoderFor(key, tree, md);
        else if ((decoders[c] as ColumnDecoder).codec !== md.codec) {
          // Chunks so far all had their column's first codec; from here on each chunk's is recorded.
          codecs ??= Array.from(
            { length: groups.length * NCOLS },
            (_, i) => (decoders[i % NCOLS] as ColumnDecoder).codec,
          );
        }
        if (codecs) codecs[g * NCOLS + c] = md.codec;
      }
      if (decoders.length !== NCOLS || decoders.includes(undefined as never))
        throw corrupt(key, `a row group lacks one of the columns ${COLUMNS.join(", ")}; not a VIPER file`);
    }
    return new FileLayout(key, dimension, rowStarts, chunks, decoders, codecs);
  }

  /** The same layout under another key (a staged file after its commit move). */
  renamed(key: string): FileLayout {
    return new FileLayout(key, this.dimension, this.#rowStarts, this.#chunks, this.#decoders, this.#codecs);
  }

  /** The row group holding `row` (0-based row of the file). */
  rowGroupOf(row: number): number {
    const starts = this.#rowStarts;
    let lo = 0;
    let hi = this.rowGroups - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= row) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** First row and row count of group `g`. */
  rowsOf(g: number): { first: number; count: number } {
    const first = this.#rowStarts[g] as number;
    return { first, count: (this.#rowStarts[g + 1] as number) - first };
  }

  /** The bytes of row group `g`: every column chunk of it, one range. */
  rowGroupRange(g: number): ByteRange {
    return this.#span(g, [ID, SEQUENCE, DELETED, METADATA, VECTOR]);
  }

  /** The byte range holding the key columns (`id`, `deleted`) of row group `g`. */
  keyRange(g: number): ByteRange {
    return this.#span(g, KEY_COLUMNS);
  }

  #span(g: number, columns: readonly number[]): ByteRange {
    let start = Number.POSITIVE_INFINITY;
    let end = 0;
    for (const c of columns) {
      start = Math.min(start, this.#chunks[(g * NCOLS + c) * 2] as number);
      end = Math.max(end, this.#chunks[(g * NCOLS + c) * 2 + 1] as number);
    }
    return { offset: start, length: end - start };
  }

  /**
   * Decodes the key columns of row group `g` from `bytes`, which hold the file from byte `at` on and cover
   * {@link keyRange}.
   */
  decodeKeys(g: number, bytes: Uint8Array, at: number): RowGroupKeys {
    const { count } = this.rowsOf(g);
    const ids = this.#column(g, ID, bytes, at, 0, count);
    const deleted = this.#column(g, DELETED, bytes, at, 0, count);
    if (ids.length !== count || deleted.length !== count)
      throw corrupt(this.key, `row group ${g} holds ${ids.length} ids for ${count} rows`);
    return { ids: ids as string[], deleted: deleted as boolean[] };
  }

  /**
   * Decodes one row (0-based row of the file) from `bytes`, which hold the file from byte `at` on and cover
   * {@link rowGroupRange} of its group. Of the vector column only the page holding the row is decompressed.
   */
  decodeRow(row: number, bytes: Uint8Array, at: number): DecodedRow {
    const g = this.rowGroupOf(row);
    const { first, count } = this.rowsOf(g);
    const r = row - first;
    if (r < 0 || r >= count) throw new RangeError(`row ${row} is not in ${this.key}`);
    const one = (c: number, raw = false) => this.#column(g, c, bytes, at, r, r + 1, raw)[0];
    const id = one(ID, true);
    const sequence = one(SEQUENCE);
    const deleted = one(DELETED);
    const metadata = one(METADATA, true);
    if (!(id instanceof Uint8Array) || typeof sequence !== "bigint" || typeof deleted !== "boolean")
      throw corrupt(this.key, `row ${row} has a malformed id, sequence or deleted flag`);
    if (metadata !== null && metadata !== undefined && !(metadata instanceof Uint8Array))
      throw corrupt(this.key, `row ${row} has non-text metadata`);
    return {
      id: utf8.decode(id),
      sequence: Number(sequence),
      deleted,
      metadata: metadata ? utf8.decode(metadata) : null,
      vector: this.#vector(g, r, bytes, at),
    };
  }

  #decoder(g: number, c: number, raw = false): ColumnDecoder {
    const base = this.#decoders[c] as ColumnDecoder;
    const codec = this.#codecs?.[g * NCOLS + c];
    const decoder = codec === undefined || codec === base.codec ? base : { ...base, codec };
    return raw ? { ...decoder, parsers: RAW_TEXT } : decoder;
  }

  #view(g: number, c: number, bytes: Uint8Array, at: number): DataView {
    const start = (this.#chunks[(g * NCOLS + c) * 2] as number) - at;
    const end = (this.#chunks[(g * NCOLS + c) * 2 + 1] as number) - at;
    if (start < 0 || end > bytes.byteLength)
      throw corrupt(
        this.key,
        `column ${COLUMNS[c]} of row group ${g} lies past the bytes read (file changed?)`,
      );
    return new DataView(bytes.buffer, bytes.byteOffset + start, end - start);
  }

  /**
   * Values of rows `[from, to)` of a flat column of group g (pages before `from` are skipped); `raw` leaves
   * text as bytes.
   */
  #column(
    g: number,
    c: number,
    bytes: Uint8Array,
    at: number,
    from: number,
    to: number,
    raw = false,
  ): unknown[] {
    const reader: DataReader = { view: this.#view(g, c, bytes, at), offset: 0 };
    const { count } = this.rowsOf(g);
    let result: ReturnType<typeof readColumn>;
    try {
      result = readColumn(
        reader,
        { groupStart: 0, selectStart: from, selectEnd: to, groupRows: count },
        this.#decoder(g, c, raw),
      );
    } catch (cause) {
      throw corrupt(this.key, `column ${COLUMNS[c]} of row group ${g} is not decodable`, cause);
    }
    return pick(result.data, from - result.skipped, to - from);
  }

  /** The vector of row `r` of group g, from the one data page that holds it. */
  #vector(g: number, r: number, bytes: Uint8Array, at: number): Float32Array {
    const view = this.#view(g, VECTOR, bytes, at);
    const decoder = this.#decoder(g, VECTOR);
    const d = this.dimension;
    const reader: DataReader = { view, offset: 0 };
    let first = 0;
    try {
      while (reader.offset < view.byteLength) {
        const start = reader.offset;
        const header = parquetHeader(reader);
        const rows =
          header.type === "DATA_PAGE"
            ? Number(header.data_page_header?.num_values) / d
            : header.type === "DATA_PAGE_V2"
              ? Number(header.data_page_header_v2?.num_rows)
              : Number.NaN;
        // A dictionary page, or a page that does not hold whole vectors: decode the whole chunk.
        if (!Number.isInteger(rows)) return this.#vectorOfChunk(g, r, view, decoder);
        const end = reader.offset + header.compressed_page_size;
        if (r < first + rows) {
          // Plain floats without nulls (VIPER's own pages): the row's vector is a slice of the page's
          // values, with no assembly into nested arrays.
          const compressed = new Uint8Array(
            view.buffer,
            view.byteOffset + reader.offset,
            end - reader.offset,
          );
          const values =
            header.type === "DATA_PAGE"
              ? readDataPage(
                  decompressPage(compressed, header.uncompressed_page_size, decoder.codec, undefined),
                  header.data_page_header as NonNullable<typeof header.data_page_header>,
                  decoder,
                ).dataPage
              : readDataPageV2(compressed, header, decoder).dataPage;
          if (values instanceof Float32Array && values.length === rows * d)
            return values.slice((r - first) * d, (r - first + 1) * d);
          const page = new DataView(view.buffer, view.byteOffset + start, end - start);
          const { data } = readColumn(
            { view: page, offset: 0 },
            { groupStart: 0, selectStart: 0, selectEnd: rows, groupRows: rows },
            decoder,
          );
          return this.#float32(pick(data, r - first, 1)[0], g, r);
        }
        first += rows;
        reader.offset = end;
      }
    } catch (cause) {
      throw corrupt(this.key, `vector column of row group ${g} is not decodable`, cause);
    }
    throw corrupt(this.key, `vector column of row group ${g} ends before row ${r}`);
  }

  #vectorOfChunk(g: number, r: number, view: DataView, decoder: ColumnDecoder): Float32Array {
    const { count } = this.rowsOf(g);
    const { data } = readColumn(
      { view, offset: 0 },
      { groupStart: 0, selectStart: 0, selectEnd: count, groupRows: count },
      decoder,
    );
    return this.#float32(pick(data, r, 1)[0], g, r);
  }

  #float32(value: unknown, g: number, r: number): Float32Array {
    if (!(Array.isArray(value) || value instanceof Float32Array) || value.length !== this.dimension)
      throw corrupt(this.key, `row ${r} of row group ${g} has no vector of ${this.dimension} floats`);
    return Float32Array.from(value as ArrayLike<number>);
  }
}

/** `count` values starting at `index` across decoded page chunks. */
function pick(chunks: readonly DecodedArray[], index: number, count: number): unknown[] {
  const out: unknown[] = [];
  let i = index;
  for (const chunk of chunks) {
    if (i >= chunk.length) {
      i -= chunk.length;
      continue;
    }
    while (i < chunk.length && out.length < count) out.push(chunk[i++]);
    if (out.length === count) break;
    i = 0;
  }
  return out;
}

function decoderFor(key: string, tree: SchemaTree, md: ColumnMetaData): ColumnDecoder {
  let schemaPath: SchemaTree[];
  try {
    schemaPath = getTreePath(tree, md.path_in_schema);
  } catch (cause) {
    throw corrupt(key, `column ${md.path_in_schema.join(".")} is not in the schema`, cause);
  }
  const leaf = schemaPath[schemaPath.length - 1] as SchemaTree;
  return {
    pathInSchema: md.path_in_schema,
    element: leaf.element,
    schemaPath,
    type: md.type,
    codec: md.codec,
    parsers: DEFAULT_PARSERS,
  };
}

/**
 * Reads a file's footer (one read of its last {@link FOOTER_GUESS_BYTES}, a second one only when the
 * footer is longer) and returns its layout.
 * @throws DataCorruptionError when the file is not a VIPER Parquet file
 */
export async function readLayout(key: string, size: number, read: RangeReader): Promise<FileLayout> {
  if (size < 12) throw corrupt(key, `${size} bytes are too short for a Parquet file`);
  const guess = Math.min(size, FOOTER_GUESS_BYTES);
  let tail = await read(size - guess, guess);
  const footer = footerLength(key, tail);
  if (footer + 8 > size - 4) throw corrupt(key, `footer length ${footer} exceeds the file`);
  if (footer + 8 > tail.byteLength) tail = await read(size - footer - 8, footer + 8);
  return FileLayout.fromFooter(key, tail);
}

/** The layout of a file held in memory (just encoded). */
export function layoutOf(key: string, bytes: Uint8Array): FileLayout {
  footerLength(key, bytes);
  return FileLayout.fromFooter(key, bytes);
}

function footerLength(key: string, tail: Uint8Array): number {
  const n = tail.byteLength;
  if (n < 8) throw corrupt(key, "too short for a Parquet footer");
  const view = new DataView(tail.buffer, tail.byteOffset, n);
  if (view.getUint32(n - 4, true) !== 0x31524150)
    throw corrupt(key, "no PAR1 at the end; not a Parquet file");
  return view.getUint32(n - 8, true);
}
