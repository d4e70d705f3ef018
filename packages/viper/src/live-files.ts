import type { FileSystem, PositionalReader } from "@proximadb/core";
import { IdIndex, type IndexedFile } from "./id-index.js";
import type { DataFile } from "./layout.js";
import { type DecodedRow, type FileLayout, type RangeReader, layoutOf, readLayout } from "./row-groups.js";

/** Files up to this size are read whole (one request) to build the index; larger ones row group by row group. */
export const WHOLE_FILE_KEYS_BYTES = 2 * 1024 * 1024;
/** Key ranges read at once while indexing a large file. */
const KEY_READS_IN_FLIGHT = 8;

/** A file this process just wrote, with what the index needs from it. */
export interface WrittenFile {
  readonly file: DataFile;
  /** Its layout, parsed from the bytes written (no read). */
  readonly layout: FileLayout;
  /** Id of every row, in row order. */
  readonly ids: readonly string[];
  /** Tombstone flag of every row; all false when omitted. */
  readonly deleted?: readonly boolean[];
}

/**
 * A collection's live files as this process knows them: the id index, each file's layout, and the
 * positional readers opened on them. Loaded once from a listing (at the collection's first read), then
 * kept in step with this process's own commits, so a read needs no listing.
 */
export class LiveFiles {
  readonly index = new IdIndex();
  readonly #fs: FileSystem;
  readonly #readers = new Map<string, Promise<PositionalReader>>();

  private constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  /**
   * Builds the index from the live files of a listing (oldest first): each file's footer, then the key
   * columns of its row groups (one read per row group; a small file is read whole in one read).
   */
  static async load(fs: FileSystem, live: readonly DataFile[]): Promise<LiveFiles> {
    const files = new LiveFiles(fs);
    try {
      for (const file of live) {
        const read = files.#rangeReader(file.key);
        if (file.size <= WHOLE_FILE_KEYS_BYTES) {
          const bytes = await read(0, file.size);
          const layout = layoutOf(file.key, bytes);
          const { ids, deleted } = keysOf(layout, bytes, 0);
          files.index.add(file, layout, ids, deleted);
          continue;
        }
        const layout = await readLayout(file.key, file.size, read);
        const ids: string[] = [];
        const deleted: boolean[] = [];
        const parts: { ids: readonly string[]; deleted: readonly boolean[] }[] = new Array(layout.rowGroups);
        let next = 0;
        const worker = async () => {
          while (next < layout.rowGroups) {
            const g = next++;
            const range = layout.keyRange(g);
            parts[g] = layout.decodeKeys(g, await read(range.offset, range.length), range.offset);
          }
        };
        await Promise.all(Array.from({ length: Math.min(KEY_READS_IN_FLIGHT, layout.rowGroups) }, worker));
        for (const part of parts) {
          for (const id of part.ids) ids.push(id);
          for (const d of part.deleted) deleted.push(d);
        }
        files.index.add(file, layout, ids, deleted);
      }
    } catch (err) {
      await files.close();
      throw err;
    }
    return files;
  }

  /** An index over files this process just wrote (a compaction's output), with no read. */
  static fromWritten(fs: FileSystem, written: readonly WrittenFile[]): LiveFiles {
    const files = new LiveFiles(fs);
    for (const w of written) files.add(w);
    return files;
  }

  /** Adds a file newer than every file in (a flush this process committed). */
  add(written: WrittenFile): void {
    const deleted = written.deleted ?? new Array<boolean>(written.ids.length).fill(false);
    this.index.add(written.file, written.layout, written.ids, deleted);
  }

  /** The stored row of the newest version of `recordId`; undefined when absent or deleted. One ranged read. */
  async get(recordId: string): Promise<DecodedRow | undefined> {
    const hit = this.index.lookup(recordId);
    if (!hit) return undefined;
    return this.readRow(hit.file, hit.row);
  }

  /** Reads one row: the bytes of its row group, then the row decoded from them. */
  async readRow(file: IndexedFile, row: number): Promise<DecodedRow> {
    const { layout } = file;
    const range = layout.rowGroupRange(layout.rowGroupOf(row));
    const bytes = await this.#rangeReader(file.file.key)(range.offset, range.length);
    return layout.decodeRow(row, bytes, range.offset);
  }

  /** Layout of a live file, by key. */
  layout(key: string): FileLayout | undefined {
    return this.index.files.find((f) => f.file.key === key)?.layout;
  }

  /** Closes the positional readers opened on the files. */
  async close(): Promise<void> {
    const readers = [...this.#readers.values()];
    this.#readers.clear();
    await Promise.allSettled(readers.map(async (r) => (await r).close()));
  }

  /** Ranged reads of one file: through a positional reader kept open where the backend offers one. */
  #rangeReader(key: string): RangeReader {
    const fs = this.#fs;
    if (!fs.openReader) return (offset, length) => fs.read(key, { offset, length });
    return async (offset, length) => {
      let reader = this.#readers.get(key);
      if (!reader) {
        reader = (fs.openReader as (k: string) => Promise<PositionalReader>).call(fs, key);
        this.#readers.set(key, reader);
        reader.catch(() => {
          if (this.#readers.get(key) === reader) this.#readers.delete(key);
        });
      }
      return (await reader).read(offset, length);
    };
  }
}

function keysOf(layout: FileLayout, bytes: Uint8Array, at: number): { ids: string[]; deleted: boolean[] } {
  const ids: string[] = [];
  const deleted: boolean[] = [];
  for (let g = 0; g < layout.rowGroups; g++) {
    const part = layout.decodeKeys(g, bytes, at);
    for (const id of part.ids) ids.push(id);
    for (const d of part.deleted) deleted.push(d);
  }
  return { ids, deleted };
}
