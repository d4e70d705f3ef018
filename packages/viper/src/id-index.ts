import type { DataFile } from "./layout.js";
import type { FileLayout } from "./row-groups.js";

/** One live file as point reads see it. */
export interface IndexedFile {
  readonly file: DataFile;
  readonly layout: FileLayout;
  /** Position of the file's row 0 among the positions of the collection's index. */
  readonly base: number;
}

/** Where the newest version of an id lives. */
export interface RowLocation {
  readonly file: IndexedFile;
  /** 0-based row of the file. */
  readonly row: number;
}

const TOMBSTONE = -1;

/**
 * What a collection's point reads need in memory: its live files (oldest first, with their layouts) and,
 * per id, where the newest version is. An id maps to one number: the position `base + row` of its row
 * (bases are handed out file by file), or -1 when the newest version is a tombstone. A JavaScript
 * `Map<string, number>` of small integers: about 60 bytes per id of 10 characters (see the README).
 *
 * Built by adding the live files in live-set order (a newer file's version wins), then kept up to date by
 * each flush (one more file) and replaced whole by each compaction.
 */
export class IdIndex {
  readonly #files: IndexedFile[] = [];
  readonly #positions = new Map<string, number>();
  #live = 0;
  #nextBase = 0;

  /** The live files, oldest first. */
  get files(): readonly IndexedFile[] {
    return this.#files;
  }

  /** Ids whose newest version is not a tombstone. */
  get count(): number {
    return this.#live;
  }

  /** Ids in the index, tombstones included. */
  get size(): number {
    return this.#positions.size;
  }

  /**
   * Adds a file newer than every file already in: its rows, in row order, are the newest versions of
   * their ids. `ids` and `deleted` hold one entry per row.
   */
  add(file: DataFile, layout: FileLayout, ids: readonly string[], deleted: readonly boolean[]): void {
    if (ids.length !== layout.rows || deleted.length !== layout.rows)
      throw new RangeError(`${file.key}: ${ids.length} ids for ${layout.rows} rows`);
    const base = this.#nextBase;
    this.#files.push({ file, layout, base });
    this.#nextBase += layout.rows;
    const positions = this.#positions;
    let live = this.#live;
    for (let row = 0; row < ids.length; row++) {
      const id = ids[row] as string;
      const prev = positions.get(id);
      if (prev !== undefined && prev !== TOMBSTONE) live--;
      if (deleted[row]) positions.set(id, TOMBSTONE);
      else {
        positions.set(id, base + row);
        live++;
      }
    }
    this.#live = live;
  }

  /** Where the newest version of `id` is; undefined when the id is absent or deleted. */
  lookup(id: string): RowLocation | undefined {
    const pos = this.#positions.get(id);
    if (pos === undefined || pos === TOMBSTONE) return undefined;
    const file = this.#files[this.#fileAt(pos)] as IndexedFile;
    return { file, row: pos - file.base };
  }

  /** True when the newest version of `id` is live. */
  has(id: string): boolean {
    const pos = this.#positions.get(id);
    return pos !== undefined && pos !== TOMBSTONE;
  }

  /** Keys of the live files, oldest first (to compare with a listing). */
  keys(): string[] {
    return this.#files.map((f) => f.file.key);
  }

  /** The rows holding live newest versions, per file (ascending): what a scan or a compaction copies. */
  rowsPerFile(): Int32Array[] {
    const files = this.#files;
    const counts = new Int32Array(files.length);
    const where = new Int32Array(this.#positions.size);
    let n = 0;
    for (const pos of this.#positions.values()) {
      if (pos === TOMBSTONE) continue;
      const f = this.#fileAt(pos);
      where[n++] = f;
      counts[f] = (counts[f] as number) + 1;
    }
    const out = files.map((_, f) => new Int32Array(counts[f] as number));
    const fill = new Int32Array(files.length);
    let i = 0;
    for (const pos of this.#positions.values()) {
      if (pos === TOMBSTONE) continue;
      const f = where[i++] as number;
      const rows = out[f] as Int32Array;
      rows[fill[f] as number] = pos - (files[f] as IndexedFile).base;
      fill[f] = (fill[f] as number) + 1;
    }
    for (const rows of out) rows.sort();
    return out;
  }

  #fileAt(pos: number): number {
    const files = this.#files;
    let lo = 0;
    let hi = files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((files[mid] as IndexedFile).base <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
