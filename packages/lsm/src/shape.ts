import { DataCorruptionError, InvalidArgumentError } from "@proximadb/core";
import type { FileId } from "./sstable.js";

/**
 * A change to a tree's shape, as a value (Pebble's `VersionEdit`): which tables become live, which stop
 * being live, which dead files are gone from storage. It is made after the I/O it describes (a table
 * written and committed, a file deleted) and applied by {@link TreeShape.apply}, which does no I/O.
 */
export interface TreeEdit<T extends FileId> {
  /** Tables that become live: a flush's level-0 table, a compaction's output. */
  readonly added?: readonly T[];
  /** Live tables that stop being live (a compaction's inputs); they become garbage until deleted. */
  readonly removed?: readonly FileId[];
  /** Garbage whose files are deleted now; the shape forgets them. */
  readonly deleted?: readonly FileId[];
}

/**
 * The shape of one LSM tree at one moment: its live tables by level and its garbage (dead tables whose
 * files still exist). Immutable: {@link apply} returns a new shape and leaves this one as it was, so a
 * reader keeps a consistent view while flushes and compactions move on.
 *
 * Precedence (newest data first) is level 0, 1, … and, inside a level, the higher file number.
 */
export class TreeShape<T extends FileId> {
  /** Live tables per level, highest number (newest) first. Levels never disappear once they existed. */
  readonly levels: readonly (readonly T[])[];
  /** Every live table in precedence order: level by level, highest number first. */
  readonly order: readonly T[];
  /** Dead tables whose files still exist, lowest number (oldest) first: the order they must be deleted in. */
  readonly garbage: readonly T[];

  private constructor(levels: readonly (readonly T[])[], garbage: readonly T[]) {
    this.levels = levels;
    this.order = levels.flat();
    this.garbage = garbage;
  }

  /** A tree with no table. */
  static empty<T extends FileId>(): TreeShape<T> {
    return new TreeShape<T>([], []);
  }

  /**
   * The shape a listing describes: a table named in another present table's `replaces` is dead (its
   * replacement was committed before it could be deleted), every other table is live. Also returns the
   * next free file number (above every number present or replaced).
   * @throws DataCorruptionError when two tables share a number (no writer makes such a listing)
   */
  static recover<T extends FileId & { readonly replaces: readonly FileId[] }>(
    tables: readonly T[],
  ): { shape: TreeShape<T>; nextNumber: number } {
    const dead = new Set<number>();
    const seen = new Map<number, T>();
    let max = 0;
    for (const t of tables) {
      const twin = seen.get(t.number);
      if (twin !== undefined) {
        throw new DataCorruptionError(
          `tables level-${twin.level} and level-${t.level} both carry number ${t.number}`,
        );
      }
      seen.set(t.number, t);
      max = Math.max(max, t.number);
      for (const r of t.replaces) {
        dead.add(r.number);
        max = Math.max(max, r.number);
      }
    }
    const shape = TreeShape.empty<T>().apply({ added: tables });
    const doomed = tables.filter((t) => dead.has(t.number));
    return { shape: shape.apply({ removed: doomed }), nextNumber: max + 1 };
  }

  /** Number of live tables in `level` (0 beyond the deepest level). */
  tablesIn(level: number): number {
    return this.levels[level]?.length ?? 0;
  }

  /**
   * The shape after `edit`. Checks the edit against this shape first and changes nothing when it does
   * not fit: an added number already live or garbage (or twice), a removed table that is not live at
   * that level, a deleted table that is not garbage.
   * @throws InvalidArgumentError for an edit that does not fit this shape
   */
  apply(edit: TreeEdit<T>): TreeShape<T> {
    const added = edit.added ?? [];
    const removed = edit.removed ?? [];
    const deleted = edit.deleted ?? [];
    const live = new Map<number, T>();
    for (const t of this.order) live.set(t.number, t);
    const dead = new Map<number, T>();
    for (const t of this.garbage) dead.set(t.number, t);

    const refuse = (what: string) => new InvalidArgumentError(`tree edit does not fit the shape: ${what}`);
    const gone = new Map<number, T>();
    for (const r of removed) {
      const t = live.get(r.number);
      if (t === undefined || t.level !== r.level)
        throw refuse(`table ${r.number} is not live in level ${r.level}`);
      if (gone.has(r.number)) throw refuse(`table ${r.number} is removed twice`);
      gone.set(r.number, t);
    }
    const fresh = new Set<number>();
    for (const t of added) {
      if (!(Number.isSafeInteger(t.level) && t.level >= 0))
        throw refuse(`table ${t.number} has level ${t.level}`);
      if (!(Number.isSafeInteger(t.number) && t.number > 0)) throw refuse(`table number ${t.number}`);
      if (live.has(t.number) || dead.has(t.number) || fresh.has(t.number))
        throw refuse(`table ${t.number} is listed already`);
      fresh.add(t.number);
    }
    const forgotten = new Set<number>();
    for (const d of deleted) {
      const t = dead.get(d.number) ?? gone.get(d.number);
      if (t === undefined || t.level !== d.level)
        throw refuse(`table ${d.number} of level ${d.level} is not garbage`);
      if (forgotten.has(d.number)) throw refuse(`table ${d.number} is deleted twice`);
      forgotten.add(d.number);
    }

    const depth = Math.max(this.levels.length, ...added.map((t) => t.level + 1));
    const levels: T[][] = Array.from({ length: depth }, (_, i) =>
      (this.levels[i] ?? []).filter((t) => !gone.has(t.number)),
    );
    for (const t of added) (levels[t.level] as T[]).push(t);
    for (const l of levels) l.sort((a, b) => b.number - a.number);
    const garbage = [...this.garbage, ...gone.values()]
      .filter((t) => !forgotten.has(t.number))
      .sort((a, b) => a.number - b.number);
    return new TreeShape(levels, garbage);
  }
}
