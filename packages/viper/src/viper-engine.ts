import {
  ClosedError,
  type CollectionId,
  type ComponentType,
  DataCorruptionError,
  InvalidArgumentError,
  listAll,
  parseCollectionId,
} from "@proximadb/core";
import type { CollectionLocation, StagedFile, StorageEngine } from "@proximadb/engine";
import { CollectionLocks, EngineBase, PlacedEngine, assertEpoch } from "@proximadb/engine";
import type { Compression } from "parquet-wasm";
import { ViperError } from "./errors.js";
import type { CompactOptions, CompactResult, FlushResult, ViperEngineOptions } from "./engine-types.js";
import {
  DEFAULT_ROW_GROUP_BYTES,
  type RecordColumns,
  decodeParquet,
  encodeParquet,
  rowGroupRowsFor,
} from "./format.js";
import {
  type DataFile,
  type LiveSet,
  VECTORS_DIR,
  compactedFileName,
  fenceMarkerFileName,
  flushFileName,
  liveSet,
  parseDataFileName,
} from "./layout.js";
import { LiveFiles, type WrittenFile } from "./live-files.js";
import { PartBuffer, type StoredRecord, type VectorRecord, rowOf, toColumns } from "./records.js";
import { type FileLayout, layoutOf, readLayout } from "./row-groups.js";

const DEFAULT_TARGET_BYTES = 128 * 1024 * 1024;

/**
 * VIPER: a collection's vectors as Parquet files in the collection's assigned storage root.
 * Flushes and compactions are staged under `<id>/_staging/` and committed by same-root moves to
 * `<id>/vectors/`; which files are live is derived from their names alone (see the README).
 *
 * Reads by id go through an in-memory index per collection (id → file, row), built from a listing and
 * the files' key columns at the collection's first read and kept up to date by this process's flushes
 * and compactions: a `get` is one ranged read of one row group, with no listing.
 *
 * One writer per collection: flushes and compactions of one collection are serialised in this process;
 * two processes must not write the same collection.
 *
 * @example
 * const viper = await ViperEngine.open({ service, openFileSystem: (root) => new LocalFileSystem(root) });
 * await viper.flush("docs", [{ id: "a", vector: new Float32Array([1, 2, 3]), metadata: { lang: "en" } }]);
 * await viper.get("docs", "a"); // { id: "a", vector: Float32Array [1, 2, 3], metadata: { lang: "en" }, sequence: 1 }
 */
export class ViperEngine extends PlacedEngine implements StorageEngine {
  readonly component: ComponentType = "viper";
  /** Placement map, staging and commits. */
  readonly #base: EngineBase;
  readonly #compression: Compression | undefined;
  readonly #rowGroupBytes: number;
  readonly #dimensions = new Map<CollectionId, number>();
  readonly #locks = new CollectionLocks();
  readonly #lastSequence = new Map<CollectionId, number>();
  /** Reads in progress per collection: while any runs, no file of the collection is deleted. */
  readonly #readers = new Map<CollectionId, number>();
  /** The live files and id index of each collection read since open. */
  readonly #live = new Map<CollectionId, LiveFiles>();
  /** Replaced live-file sets whose readers close when the collection's reads in progress end. */
  readonly #retired = new Map<CollectionId, LiveFiles[]>();
  #closed = false;

  private constructor(base: EngineBase, compression: Compression | undefined, rowGroupBytes: number) {
    super(base);
    this.#base = base;
    this.#compression = compression;
    this.#rowGroupBytes = rowGroupBytes;
  }

  /**
   * Opens VIPER: discovery over its roots (unless `report` is given), placement map, stale staging removed.
   * @throws InvalidArgumentError for a `rowGroupBytes` that is not a positive number; whatever
   *   {@link EngineBase.open} throws
   */
  static async open(options: ViperEngineOptions): Promise<ViperEngine> {
    const { compression, rowGroupBytes = DEFAULT_ROW_GROUP_BYTES, ...rest } = options;
    if (!(Number.isFinite(rowGroupBytes) && rowGroupBytes > 0)) {
      throw new InvalidArgumentError(`rowGroupBytes must be a positive number (got ${rowGroupBytes})`);
    }
    const base = await EngineBase.open({ ...rest, component: "viper" });
    return new ViperEngine(base, compression, rowGroupBytes);
  }

  /**
   * Fences the collection at writer epoch `epoch` (see the README's "Fencing"): lists its files, refuses
   * an epoch below the highest they show, and durably writes the marker `vectors/fence-e<epoch>-<next
   * sequence>`: from then on a file of a lower epoch reaching that sequence (a stale owner's flush or
   * compaction after the takeover) is never read, and the flushes of this engine are named with the epoch.
   * Places the collection when it has no VIPER root yet. The same epoch again does nothing.
   * @throws InvalidArgumentError for an epoch that is not a positive safe integer; EngineError `StaleEpoch`
   *   when the collection is at a higher epoch, nothing changed
   */
  async fence(id: string, epoch: number): Promise<void> {
    const collection = parseCollectionId(id);
    assertEpoch(epoch);
    await this.#exclusive(collection, async () => {
      if (this.#base.isFenced(collection) && this.#base.epochOf(collection) === epoch) return;
      const location = await this.#base.place(collection);
      const set = await this.#list(location);
      await this.#base.fence(collection, epoch);
      const first = Math.max(set.nextSequence, (this.#lastSequence.get(collection) ?? 0) + 1);
      this.#base.assertWritable(location);
      await location.fs.write(
        `${location.dir}${VECTORS_DIR}/${fenceMarkerFileName(epoch, first)}`,
        new Uint8Array(0),
        {
          durable: true,
        },
      );
      // The live files may have changed under a takeover: the id index is rebuilt at the next read.
      await this.#replaceLive(collection, undefined);
    });
  }

  /** The writer epoch of the collection: fenced here, else the highest its file names showed (0: none). */
  epochOf(id: string): number {
    this.assertOpen();
    return this.#base.epochOf(id);
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
    const cached = this.#dimensions.get(location.collection);
    if (cached !== undefined) return cached;
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

  /**
   * The newest live version of one record, or undefined when absent or deleted. The first read of a
   * collection builds its id index (a listing plus the key columns of its files); after that a get is one
   * ranged read of the row group holding the record, and no listing.
   * @throws DataCorruptionError when the file the index points at does not hold the record
   */
  async get(id: string, recordId: string): Promise<StoredRecord | undefined> {
    const location = this.locate(id);
    if (!location) return undefined;
    return this.#reading(location.collection, async () => {
      const live = await this.#liveFiles(location);
      const hit = live.index.lookup(recordId);
      if (!hit) return undefined;
      const row = await live.readRow(hit.file, hit.row);
      if (row.id !== recordId || row.deleted) {
        throw new DataCorruptionError(
          `${hit.file.file.key}: row ${hit.row} holds ${JSON.stringify(row.id)}, not the indexed record`,
          { key: hit.file.file.key },
        );
      }
      return {
        id: row.id,
        vector: row.vector,
        metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>),
        sequence: row.sequence,
      };
    });
  }

  /**
   * True when the collection holds a live version of the record (answered from the id index: no file
   * read once the collection's index is built).
   */
  async has(id: string, recordId: string): Promise<boolean> {
    const location = this.locate(id);
    if (!location) return false;
    return this.#reading(location.collection, async () =>
      (await this.#liveFiles(location)).index.has(recordId),
    );
  }

  /**
   * Every live record (newest version of each id, tombstones hidden), file by file. Memory holds the
   * collection's id index, the list of rows to copy, and one file.
   */
  async *scan(id: string): AsyncGenerator<StoredRecord> {
    const location = this.locate(id);
    if (!location) return;
    const collection = location.collection;
    // A reader keeps the files it reads from being deleted by a compaction of this process.
    this.#enter(collection);
    try {
      const live = await this.#liveFiles(location);
      // A snapshot: later flushes add files to the index, a compaction replaces it.
      const files = [...live.index.files];
      const perFile = live.index.rowsPerFile();
      for (let f = 0; f < files.length; f++) {
        const rows = perFile[f] as Int32Array;
        if (rows.length === 0) continue;
        const { key } = (files[f] as (typeof files)[number]).file;
        const cols = decodeParquet(await location.fs.read(key), key);
        for (const row of rows) yield rowOf(cols, row);
      }
    } finally {
      await this.#leave(collection);
    }
  }

  /** Number of live records (from the id index). */
  async count(id: string): Promise<number> {
    const location = this.locate(id);
    if (!location) return 0;
    return this.#reading(location.collection, async () => (await this.#liveFiles(location)).index.count);
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
      this.#base.assertMayModify(collection);
      let set = await this.#list(location);
      // A writer fenced out by a higher epoch deletes nothing and commits nothing.
      this.#base.assertNotFencedOut(collection, set.epoch);
      const garbageRemoved = this.#readers.get(collection) ? 0 : set.garbage.length;
      if (garbageRemoved > 0) {
        this.#base.assertWritable(location);
        await location.fs.deleteMany(
          set.garbage.map((f) => f.key),
          { durable: true },
        );
        set = { ...set, garbage: [] };
      }
      const sets = new Set(set.live.map((f) => `${f.lo}:${f.hi}:${f.generation}`));
      if (sets.size <= 1) return { ...empty, garbageRemoved };
      const dimension = (await this.#dimensionOf(location, set)) as number;
      const lo = Math.min(...set.live.map((f) => f.lo));
      const hi = Math.max(...set.live.map((f) => f.hi));
      const generation = set.nextGeneration;

      // Pass 1: the id index (built now from the listing if this process has none) names the newest
      // version of every id.
      const index = (await this.#loadLive(location, set)).index;
      const live = index.files.map((f) => f.file);
      const perFile = index.rowsPerFile();
      let rowsIn = 0;
      let totalRows = 0;
      let estimated = 0;
      for (let f = 0; f < live.length; f++) {
        const file = live[f] as DataFile;
        const kept = (perFile[f] as Int32Array).length;
        const fileRows = (index.files[f] as (typeof index.files)[number]).layout.rows;
        rowsIn += fileRows;
        totalRows += kept;
        estimated += fileRows === 0 ? 0 : (file.size * kept) / fileRows;
      }
      const parts = Math.max(1, Math.ceil(estimated / target));
      const rowsPerPart = Math.max(1, Math.ceil(totalRows / parts));

      // Pass 2: copy the winning rows, part by part, into staging.
      const staged: { file: StagedFile; bytes: number; layout: FileLayout; ids: string[] }[] = [];
      let buffer = new PartBuffer(dimension, Math.min(rowsPerPart, totalRows));
      const emit = async () => {
        const part = staged.length + 1;
        const columns = buffer.columns();
        const bytes = this.#encode(columns);
        const s = await this.#base.stage(collection, `compact-g${generation}-${part}`);
        await s.fs.write(s.key, bytes, { durable: true });
        staged.push({ file: s, bytes: bytes.byteLength, layout: layoutOf(s.key, bytes), ids: buffer.ids });
        buffer = new PartBuffer(dimension, Math.min(rowsPerPart, totalRows - staged.length * rowsPerPart));
      };
      for (let f = 0; f < live.length; f++) {
        const rows = perFile[f] as Int32Array;
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
      const written: WrittenFile[] = [];
      for (let i = 0; i < staged.length; i++) {
        const name = compactedFileName(
          lo,
          hi,
          generation,
          i + 1,
          staged.length,
          this.#base.epochOf(collection),
        );
        const s = staged[i] as (typeof staged)[number];
        const key = await this.#base.commit(s.file, `${VECTORS_DIR}/${name}`, { overwrite: false });
        outputs.push(key);
        written.push({ file: dataFile(key, name, s.bytes), layout: s.layout.renamed(key), ids: s.ids });
      }
      // Readers from here on see the new set; reads still in progress keep the old one.
      await this.#replaceLive(collection, LiveFiles.fromWritten(location.fs, written));
      // The inputs are superseded now: deleting them is garbage collection, not part of the commit. While a
      // reader of this process is going through the old set they stay; the next compaction removes them.
      const inputsDeleted = !this.#readers.get(collection);
      if (inputsDeleted) {
        this.#base.assertWritable(location);
        await location.fs.deleteMany(
          live.map((f) => f.key),
          { durable: true },
        );
      }
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
      await this.#replaceLive(collection, undefined);
      await this.#base.drop(collection);
      this.#dimensions.delete(collection);
      this.#lastSequence.delete(collection);
    });
  }

  /**
   * Forgets the collection's live files and id index (their readers close once no read uses them),
   * deleting nothing: the next access lists them again where `locate` then points (after a move). See
   * `StorageEngine.release`.
   */
  async release(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    await this.#exclusive(collection, () => this.#replaceLive(collection, undefined));
  }

  /**
   * This node lost the collection (see `StorageEngine.relinquish`): after the writes in flight, forgets
   * its live files and its fence and removes this node's staging of it.
   */
  async relinquish(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    await this.#exclusive(collection, async () => {
      await this.#replaceLive(collection, undefined);
      await this.#base.relinquish(collection);
    });
  }

  /** Waits for in-flight writes, closes the readers kept on data files and the roots' file systems. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#locks.idle();
    const all = [...this.#live.values(), ...[...this.#retired.values()].flat()];
    this.#live.clear();
    this.#retired.clear();
    await Promise.allSettled(all.map((l) => l.close()));
    await this.#base.close();
  }

  protected override assertOpen(): void {
    if (this.#closed) throw new ClosedError("viper engine");
  }

  #enter(collection: CollectionId): void {
    this.#readers.set(collection, (this.#readers.get(collection) ?? 0) + 1);
  }

  async #leave(collection: CollectionId): Promise<void> {
    const left = (this.#readers.get(collection) ?? 1) - 1;
    this.#readers.set(collection, left);
    if (left > 0) return;
    const retired = this.#retired.get(collection);
    if (!retired) return;
    this.#retired.delete(collection);
    await Promise.allSettled(retired.map((l) => l.close()));
  }

  async #reading<T>(collection: CollectionId, fn: () => Promise<T>): Promise<T> {
    this.#enter(collection);
    try {
      return await fn();
    } finally {
      await this.#leave(collection);
    }
  }

  /** The collection's live files and id index, built on first use (serialised with its writes). */
  #liveFiles(location: CollectionLocation): Promise<LiveFiles> {
    const known = this.#live.get(location.collection);
    if (known) return Promise.resolve(known);
    return this.#exclusive(location.collection, () => this.#loadLive(location));
  }

  /**
   * Inside the collection's lock: the live files as known, or built from a listing. Given the listing a
   * writer just made, a known set that differs from it is rebuilt: the listing stays the truth.
   */
  async #loadLive(location: CollectionLocation, set?: LiveSet): Promise<LiveFiles> {
    const collection = location.collection;
    const known = this.#live.get(collection);
    if (known && (set === undefined || sameKeys(known.index.keys(), set.live))) return known;
    const listed = set ?? (await this.#list(location));
    const built = await LiveFiles.load(location.fs, listed.live);
    await this.#replaceLive(collection, built);
    return built;
  }

  /** Installs a collection's new live files (or none); the old set's readers close once no read uses them. */
  async #replaceLive(collection: CollectionId, next: LiveFiles | undefined): Promise<void> {
    const old = this.#live.get(collection);
    if (next) this.#live.set(collection, next);
    else this.#live.delete(collection);
    if (!old || old === next) return;
    if (this.#readers.get(collection)) {
      const retired = this.#retired.get(collection) ?? [];
      retired.push(old);
      this.#retired.set(collection, retired);
    } else await old.close();
  }

  #encode(columns: RecordColumns): Uint8Array {
    return encodeParquet(columns, {
      ...(this.#compression === undefined ? {} : { compression: this.#compression }),
      rowGroupRows: rowGroupRowsFor(this.#rowGroupBytes, columns),
    });
  }

  async #writeFlush(
    location: CollectionLocation,
    set: LiveSet,
    dimension: number,
    records: readonly VectorRecord[],
  ): Promise<FlushResult> {
    const collection = location.collection;
    this.#base.assertMayModify(collection);
    // A writer fenced out by a higher epoch commits nothing (what it would commit is ignored anyway).
    this.#base.assertNotFencedOut(collection, set.epoch);
    const sequence = Math.max(set.nextSequence, (this.#lastSequence.get(collection) ?? 0) + 1);
    const columns = toColumns(collection, dimension, sequence, records);
    const bytes = this.#encode(columns);
    const name = flushFileName(sequence, this.#base.epochOf(collection));
    const staged = await this.#base.stage(collection, `flush-${sequence}`);
    await staged.fs.write(staged.key, bytes, { durable: true });
    const key = await this.#base.commit(staged, `${VECTORS_DIR}/${name}`, { overwrite: false });
    this.#lastSequence.set(collection, sequence);
    // The index follows the commit when it matched the listing this flush started from; otherwise it is
    // dropped and rebuilt from a new listing at the next read.
    const live = this.#live.get(collection);
    if (live && sameKeys(live.index.keys(), set.live)) {
      live.add({
        file: dataFile(key, name, bytes.byteLength),
        layout: layoutOf(key, bytes),
        ids: columns.ids,
        deleted: columns.deleted,
      });
    } else if (live) await this.#replaceLive(collection, undefined);
    return { key, sequence, records: columns.ids.length, bytes: bytes.byteLength };
  }

  async #list(location: CollectionLocation): Promise<LiveSet> {
    const { files } = await listAll(location.fs, `${location.dir}${VECTORS_DIR}/`);
    const set = liveSet(files);
    this.#base.observeEpoch(location.collection, set.epoch);
    return set;
  }

  async #dimensionOf(location: CollectionLocation, set: LiveSet): Promise<number | undefined> {
    const cached = this.#dimensions.get(location.collection);
    if (cached !== undefined) return cached;
    const file = [...set.live].sort((a, b) => a.size - b.size)[0];
    if (!file) return undefined;
    // The dimension is in every file's footer: no need to read more than the footer.
    const layout = await readLayout(file.key, file.size, (offset, length) =>
      location.fs.read(file.key, { offset, length }),
    );
    this.#dimensions.set(location.collection, layout.dimension);
    return layout.dimension;
  }

  #exclusive<T>(collection: CollectionId, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError("viper engine"));
    return this.#locks.run(collection, fn);
  }
}

/** A data file this process just committed, described as a listing would. */
function dataFile(key: string, name: string, size: number): DataFile {
  const parsed = parseDataFileName(name);
  if (!parsed) throw new Error(`internal: ${name} is not a VIPER data file name`);
  return { key, name, size, ...parsed };
}

function sameKeys(keys: readonly string[], live: readonly DataFile[]): boolean {
  return keys.length === live.length && keys.every((k, i) => k === (live[i] as DataFile).key);
}
