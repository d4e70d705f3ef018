import {
  ClosedError,
  type CollectionId,
  type ComponentType,
  type FileSystem,
  InvalidArgumentError,
  listAll,
  parseCollectionId,
} from "@proximadb/core";
import {
  type CollectionLocation,
  EngineBase,
  type EngineOpenOptions,
  type StagedFile,
  type StorageEngine,
} from "@proximadb/engine";
import type { Compression } from "parquet-wasm";
import { ViperError } from "./errors.js";
import { type KeyColumns, type RecordColumns, decodeKeys, decodeParquet, encodeParquet } from "./format.js";
import {
  type DataFile,
  type LiveSet,
  VECTORS_DIR,
  compactedFileName,
  flushFileName,
  liveSet,
} from "./layout.js";

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

/** Options of {@link ViperEngine.open}: the shared engine options plus VIPER's own. */
export interface ViperEngineOptions extends EngineOpenOptions {
  /** Parquet compression codec (parquet-wasm's `Compression`). Default SNAPPY. */
  readonly compression?: Compression;
}

/** What {@link ViperEngine.flush} wrote. */
export interface FlushResult {
  /** Root-relative key of the committed file. */
  readonly key: string;
  /** The flush sequence (part of the file name and of every row). */
  readonly sequence: number;
  /** Rows written (after de-duplicating ids within the batch: the last one wins). */
  readonly records: number;
  /** File size in bytes. */
  readonly bytes: number;
}

/** Options of {@link ViperEngine.compact}. */
export interface CompactOptions {
  /** Target size of each output file in bytes. Default 128 MiB. */
  readonly targetFileBytes?: number;
}

/** What {@link ViperEngine.compact} did. */
export interface CompactResult {
  /** False when there was nothing to merge (at most one live set). */
  readonly compacted: boolean;
  /** Generation of the output set. */
  readonly generation: number;
  /** Keys of the input files (now deleted). */
  readonly inputs: readonly string[];
  /** Keys of the output files. */
  readonly outputs: readonly string[];
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Garbage (superseded or incomplete files from an interrupted compaction) removed first. */
  readonly garbageRemoved: number;
  /** False when a reader of this process was still reading the inputs: they stay as garbage until the next compaction. */
  readonly inputsDeleted: boolean;
}

const DEFAULT_TARGET_BYTES = 128 * 1024 * 1024;

interface Winner {
  file: number;
  row: number;
  sequence: number;
  deleted: boolean;
}

/**
 * VIPER: a collection's vectors as Parquet files in the collection's assigned storage root.
 * Flushes and compactions are staged under `<id>/_staging/` and committed by same-root moves to
 * `<id>/vectors/`; which files are live is derived from their names alone (see the README).
 *
 * One writer per collection: flushes and compactions of one collection are serialised in this process;
 * two processes must not write the same collection.
 *
 * @example
 * const viper = await ViperEngine.open({ service, openFileSystem: (root) => new LocalFileSystem(root) });
 * await viper.flush("docs", [{ id: "a", vector: new Float32Array([1, 2, 3]), metadata: { lang: "en" } }]);
 * await viper.get("docs", "a"); // { id: "a", vector: Float32Array [1, 2, 3], metadata: { lang: "en" }, sequence: 1 }
 */
export class ViperEngine implements StorageEngine {
  readonly component: ComponentType = "viper";
  /** Placement map, staging and commits. */
  readonly #base: EngineBase;
  readonly #compression: Compression | undefined;
  readonly #dimensions = new Map<CollectionId, number>();
  readonly #locks = new Map<CollectionId, Promise<unknown>>();
  readonly #lastSequence = new Map<CollectionId, number>();
  readonly #readers = new Map<CollectionId, number>();
  #closed = false;

  private constructor(base: EngineBase, compression: Compression | undefined) {
    this.#base = base;
    this.#compression = compression;
  }

  /**
   * Opens VIPER: discovery over its roots (unless `report` is given), placement map, stale staging removed.
   * @throws whatever {@link EngineBase.open} throws
   */
  static async open(options: ViperEngineOptions): Promise<ViperEngine> {
    const { compression, ...rest } = options;
    const base = await EngineBase.open({ ...rest, component: "viper" });
    return new ViperEngine(base, compression);
  }

  /** The discovery report the placement map was rebuilt from. */
  get report(): StorageEngine["report"] {
    return this.#base.report;
  }

  /** Collections with a VIPER root (found by discovery or placed since). */
  collections(): CollectionId[] {
    this.#assertOpen();
    return this.#base.collections();
  }

  /** Where a collection's files live, without placing it. */
  locate(id: string): CollectionLocation | undefined {
    this.#assertOpen();
    return this.#base.locate(id);
  }

  /** Places a collection (assigning its VIPER root on first use) without writing a file. */
  async place(id: string): Promise<CollectionLocation> {
    this.#assertOpen();
    return this.#base.place(id);
  }

  /**
   * Declares a collection and its dimension. Writes an empty Parquet file (flush of zero records)
   * so the collection and its dimension survive a restart. Idempotent for the same dimension.
   * @throws ViperError `DimensionMismatch` when the collection exists with another dimension;
   *   InvalidArgumentError for a dimension outside 1..65536
   */
  async createCollection(id: string, options: { dimension: number }): Promise<void> {
    const collection = parseCollectionId(id);
    const { dimension } = options;
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > 65536) {
      throw new InvalidArgumentError(`dimension must be an integer in 1..65536 (got ${dimension})`);
    }
    await this.#exclusive(collection, async () => {
      const location = await this.#base.place(collection);
      const set = await this.#list(location);
      const known = await this.#dimensionOf(location, set);
      if (known !== undefined) {
        if (known !== dimension) {
          throw new ViperError(
            "DimensionMismatch",
            `collection ${collection} has dimension ${known}, not ${dimension}`,
            { collection },
          );
        }
        return;
      }
      this.#dimensions.set(collection, dimension);
      await this.#writeFlush(location, set, dimension, []);
    });
  }

  /** The collection's vector dimension, or undefined when it has no data yet. */
  async dimension(id: string): Promise<number | undefined> {
    const location = this.locate(id);
    if (!location) return undefined;
    return this.#dimensionOf(location, await this.#list(location));
  }

  /**
   * Writes one Parquet file with these record versions (the last of several with one id wins), staged
   * under `_staging/` and committed to `<id>/vectors/part-<sequence>.parquet`. The first flush of an
   * undeclared collection sets its dimension. An empty batch writes nothing and returns undefined.
   * @throws ViperError `InvalidRecord`, `DimensionMismatch`
   */
  async flush(id: string, records: readonly VectorRecord[]): Promise<FlushResult | undefined> {
    const collection = parseCollectionId(id);
    if (!Array.isArray(records))
      throw new ViperError("InvalidRecord", "records must be an array", { collection });
    if (records.length === 0) return undefined;
    return this.#exclusive(collection, async () => {
      const location = await this.#base.place(collection);
      const set = await this.#list(location);
      const known = await this.#dimensionOf(location, set);
      const first = records.find((r) => r?.vector !== undefined)?.vector;
      if (known === undefined && first === undefined) {
        throw new ViperError("InvalidRecord", "the first flush of a collection needs at least one vector", {
          collection,
        });
      }
      const dimension = known ?? (first?.length as number);
      const result = await this.#writeFlush(location, set, dimension, records);
      this.#dimensions.set(collection, dimension);
      return result;
    });
  }

  /** The newest live version of one record, or undefined when absent or deleted. */
  async get(id: string, recordId: string): Promise<StoredRecord | undefined> {
    const location = this.locate(id);
    if (!location) return undefined;
    return this.#reading(location.collection, () => this.#get(location, recordId));
  }

  async #get(location: CollectionLocation, recordId: string): Promise<StoredRecord | undefined> {
    const { live } = await this.#list(location);
    // Live sets never overlap, and ids are unique within a set: the newest file holding the id wins.
    for (let i = live.length - 1; i >= 0; i--) {
      const file = live[i] as DataFile;
      const bytes = await location.fs.read(file.key);
      const keys = decodeKeys(bytes, file.key);
      let row = -1;
      let best = -1;
      for (let r = 0; r < keys.ids.length; r++) {
        if (keys.ids[r] === recordId && (keys.sequences[r] as number) > best) {
          row = r;
          best = keys.sequences[r] as number;
        }
      }
      if (row < 0) continue;
      if (keys.deleted[row]) return undefined;
      return rowOf(decodeParquet(bytes, file.key), row);
    }
    return undefined;
  }

  /**
   * Every live record (newest version of each id, tombstones hidden), file by file. Memory holds the
   * key index of the collection plus one file.
   */
  async *scan(id: string): AsyncGenerator<StoredRecord> {
    const location = this.locate(id);
    if (!location) return;
    const collection = location.collection;
    // A reader keeps the files of its listing from being deleted by a compaction of this process.
    this.#readers.set(collection, (this.#readers.get(collection) ?? 0) + 1);
    try {
      const { live } = await this.#list(location);
      const { winners } = await this.#winners(location.fs, live);
      const perFile = rowsPerFile(winners, live.length);
      for (let f = 0; f < live.length; f++) {
        const rows = perFile[f] as number[];
        if (rows.length === 0) continue;
        const file = live[f] as DataFile;
        const cols = decodeParquet(await location.fs.read(file.key), file.key);
        for (const row of rows) yield rowOf(cols, row);
      }
    } finally {
      this.#readers.set(collection, (this.#readers.get(collection) ?? 1) - 1);
    }
  }

  /** Number of live records. */
  async count(id: string): Promise<number> {
    const location = this.locate(id);
    if (!location) return 0;
    return this.#reading(location.collection, async () => {
      const { winners } = await this.#winners(location.fs, (await this.#list(location)).live);
      let n = 0;
      for (const w of winners.values()) if (!w.deleted) n++;
      return n;
    });
  }

  /** The collection's data files as the listing shows them: live, garbage and foreign keys. */
  async files(id: string): Promise<LiveSet | undefined> {
    const location = this.locate(id);
    return location ? this.#list(location) : undefined;
  }

  /**
   * Merges every live file into new files of about `targetFileBytes`, dropping overwritten versions and
   * tombstones. Outputs are committed part by part under names that say which range they replace; the
   * set becomes live when its last part lands, and the inputs are deleted after that. A crash at any
   * instant leaves either the old set or the new set live (see the README).
   * @throws InvalidArgumentError for `targetFileBytes` ≤ 0
   */
  async compact(id: string, options: CompactOptions = {}): Promise<CompactResult> {
    const collection = parseCollectionId(id);
    const target = options.targetFileBytes ?? DEFAULT_TARGET_BYTES;
    if (!(Number.isFinite(target) && target > 0)) {
      throw new InvalidArgumentError(`targetFileBytes must be a positive number (got ${target})`);
    }
    return this.#exclusive(collection, async () => {
      const location = this.#base.locate(collection);
      const empty = {
        compacted: false,
        generation: 0,
        inputs: [],
        outputs: [],
        rowsIn: 0,
        rowsOut: 0,
        bytesIn: 0,
        bytesOut: 0,
        garbageRemoved: 0,
        inputsDeleted: false,
      };
      if (!location) return empty;
      let set = await this.#list(location);
      const garbageRemoved = this.#readers.get(collection) ? 0 : set.garbage.length;
      if (garbageRemoved > 0) {
        await location.fs.deleteMany(
          set.garbage.map((f) => f.key),
          { durable: true },
        );
        set = { ...set, garbage: [] };
      }
      const { live } = set;
      const sets = new Set(live.map((f) => `${f.lo}:${f.hi}:${f.generation}`));
      if (sets.size <= 1) return { ...empty, garbageRemoved };
      const dimension = (await this.#dimensionOf(location, set)) as number;
      const lo = Math.min(...live.map((f) => f.lo));
      const hi = Math.max(...live.map((f) => f.hi));
      const generation = set.nextGeneration;

      // Pass 1: key columns only, to pick the newest version of every id.
      const { winners, rows: fileRowCounts } = await this.#winners(location.fs, live);
      const perFile = rowsPerFile(winners, live.length);
      let rowsIn = 0;
      let totalRows = 0;
      let estimated = 0;
      for (let f = 0; f < live.length; f++) {
        const file = live[f] as DataFile;
        const kept = (perFile[f] as number[]).length;
        const fileRows = fileRowCounts[f] as number;
        rowsIn += fileRows;
        totalRows += kept;
        estimated += fileRows === 0 ? 0 : (file.size * kept) / fileRows;
      }
      const parts = Math.max(1, Math.ceil(estimated / target));
      const rowsPerPart = Math.max(1, Math.ceil(totalRows / parts));

      // Pass 2: copy the winning rows, part by part, into staging.
      const staged: { file: StagedFile; bytes: number }[] = [];
      let buffer = new PartBuffer(dimension, Math.min(rowsPerPart, totalRows));
      const emit = async () => {
        const part = staged.length + 1;
        const bytes = encodeParquet(buffer.columns(), this.#options());
        const s = await this.#base.stage(collection, `compact-g${generation}-${part}`);
        await s.fs.write(s.key, bytes, { durable: true });
        staged.push({ file: s, bytes: bytes.byteLength });
        buffer = new PartBuffer(dimension, Math.min(rowsPerPart, totalRows - staged.length * rowsPerPart));
      };
      for (let f = 0; f < live.length; f++) {
        const rows = perFile[f] as number[];
        if (rows.length === 0) continue;
        const file = live[f] as DataFile;
        const cols = decodeParquet(await location.fs.read(file.key), file.key);
        for (const row of rows) {
          buffer.push(cols, row);
          if (buffer.length === rowsPerPart) await emit();
        }
      }
      if (buffer.length > 0 || staged.length === 0) await emit();
      // Commit: the set is live only once its last part is in place; until then the inputs are. Names are
      // given only now, so the part count in them is the number of parts actually written.
      const outputs: string[] = [];
      for (let i = 0; i < staged.length; i++) {
        const name = compactedFileName(lo, hi, generation, i + 1, staged.length);
        const { file } = staged[i] as { file: StagedFile };
        outputs.push(await this.#base.commit(file, `${VECTORS_DIR}/${name}`, { overwrite: false }));
      }
      // The inputs are superseded now: deleting them is garbage collection, not part of the commit. While a
      // reader of this process is going through the old set they stay; the next compaction removes them.
      const inputsDeleted = !this.#readers.get(collection);
      if (inputsDeleted)
        await location.fs.deleteMany(
          live.map((f) => f.key),
          { durable: true },
        );
      return {
        compacted: true,
        generation,
        inputs: live.map((f) => f.key),
        outputs,
        rowsIn,
        rowsOut: totalRows,
        bytesIn: live.reduce((a, f) => a + f.size, 0),
        bytesOut: staged.reduce((a, s) => a + s.bytes, 0),
        garbageRemoved,
        inputsDeleted,
      };
    });
  }

  /** Deletes every file of the collection and forgets its placement. */
  async drop(id: string): Promise<void> {
    const collection = parseCollectionId(id);
    await this.#exclusive(collection, async () => {
      await this.#base.drop(collection);
      this.#dimensions.delete(collection);
      this.#lastSequence.delete(collection);
    });
  }

  /** Waits for in-flight writes and closes the roots' file systems. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#locks.values()]);
    await this.#base.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("viper engine");
  }

  async #reading<T>(collection: CollectionId, fn: () => Promise<T>): Promise<T> {
    this.#readers.set(collection, (this.#readers.get(collection) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      this.#readers.set(collection, (this.#readers.get(collection) ?? 1) - 1);
    }
  }

  #options() {
    return this.#compression === undefined ? {} : { compression: this.#compression };
  }

  async #writeFlush(
    location: CollectionLocation,
    set: LiveSet,
    dimension: number,
    records: readonly VectorRecord[],
  ): Promise<FlushResult> {
    const collection = location.collection;
    const sequence = Math.max(set.nextSequence, (this.#lastSequence.get(collection) ?? 0) + 1);
    const columns = toColumns(collection, dimension, sequence, records);
    const bytes = encodeParquet(columns, this.#options());
    const name = flushFileName(sequence);
    const staged = await this.#base.stage(collection, `flush-${sequence}`);
    await staged.fs.write(staged.key, bytes, { durable: true });
    const key = await this.#base.commit(staged, `${VECTORS_DIR}/${name}`, { overwrite: false });
    this.#lastSequence.set(collection, sequence);
    return { key, sequence, records: columns.ids.length, bytes: bytes.byteLength };
  }

  async #list(location: CollectionLocation): Promise<LiveSet> {
    const { files } = await listAll(location.fs, `${location.dir}${VECTORS_DIR}/`);
    return liveSet(files);
  }

  async #dimensionOf(location: CollectionLocation, set: LiveSet): Promise<number | undefined> {
    const cached = this.#dimensions.get(location.collection);
    if (cached !== undefined) return cached;
    const file = [...set.live].sort((a, b) => a.size - b.size)[0];
    if (!file) return undefined;
    const dimension = decodeParquet(await location.fs.read(file.key), file.key).dimension;
    this.#dimensions.set(location.collection, dimension);
    return dimension;
  }

  /** Pass over the key columns of every live file: the newest version of each id, and each file's row count. */
  async #winners(
    fs: FileSystem,
    live: readonly DataFile[],
  ): Promise<{ winners: Map<string, Winner>; rows: number[] }> {
    const winners = new Map<string, Winner>();
    const rows: number[] = [];
    for (let f = 0; f < live.length; f++) {
      const file = live[f] as DataFile;
      const keys: KeyColumns = decodeKeys(await fs.read(file.key), file.key);
      rows.push(keys.ids.length);
      for (let row = 0; row < keys.ids.length; row++) {
        const id = keys.ids[row] as string;
        const sequence = keys.sequences[row] as number;
        const prev = winners.get(id);
        if (prev === undefined || sequence >= prev.sequence) {
          winners.set(id, { file: f, row, sequence, deleted: keys.deleted[row] === true });
        }
      }
    }
    return { winners, rows };
  }

  #exclusive<T>(collection: CollectionId, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError("viper engine"));
    const prev = this.#locks.get(collection) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#locks.set(collection, settled);
    void settled.then(() => {
      if (this.#locks.get(collection) === settled) this.#locks.delete(collection);
    });
    return next;
  }
}

/** Groups the live (non-deleted) winners by file, rows ascending. */
function rowsPerFile(winners: Map<string, Winner>, files: number): number[][] {
  const out: number[][] = Array.from({ length: files }, () => []);
  for (const w of winners.values()) if (!w.deleted) (out[w.file] as number[]).push(w.row);
  for (const rows of out) rows.sort((a, b) => a - b);
  return out;
}

function rowOf(cols: RecordColumns, row: number): StoredRecord {
  const d = cols.dimension;
  const meta = cols.metadata[row];
  return {
    id: cols.ids[row] as string,
    vector: cols.vectors.slice(row * d, (row + 1) * d),
    metadata: meta === null || meta === undefined ? null : (JSON.parse(meta) as Record<string, unknown>),
    sequence: cols.sequences[row] as number,
  };
}

class PartBuffer {
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
function toColumns(
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
