import { InvalidArgumentError } from "@proximadb/core";
import type { TreeShape } from "./shape.js";
import type { FileId } from "./sstable.js";

/** What decides when a level is compacted (see `LsmEngineOptions.levelFanout`). */
export interface CompactionPolicy {
  /** Files in a level that make it full: it is merged whole into one file of the next level (≥ 2). */
  readonly levelFanout: number;
}

/** A compaction to run, as picked from a tree's shape (Pebble's `pickedCompaction`). */
export interface PickedCompaction<T extends FileId> {
  /** Tables to merge, in precedence order (newest first); they are replaced by one output table. */
  readonly inputs: readonly T[];
  /** Level of the output table. */
  readonly outputLevel: number;
  /**
   * True when no older version of any key can exist below the output (the output level and every deeper
   * one are empty, or every table is an input): tombstones can be dropped.
   */
  readonly dropTombstones: boolean;
}

/**
 * What to compact next, a pure function of the tree's shape: the shallowest full level (at least
 * `levelFanout` tables) is merged whole into one table of the next level, or nothing (`undefined`).
 * Tiered compaction keeps precedence true: the inputs are newer than everything in deeper levels, and
 * the output gets the highest number of its level.
 * @throws InvalidArgumentError for a `levelFanout` below 2
 */
export function pickCompaction<T extends FileId>(
  shape: TreeShape<T>,
  policy: CompactionPolicy,
): PickedCompaction<T> | undefined {
  const fanout = policy.levelFanout;
  if (!(Number.isSafeInteger(fanout) && fanout >= 2))
    throw new InvalidArgumentError(`levelFanout must be an integer ≥ 2 (got ${fanout})`);
  for (let level = 0; level < shape.levels.length; level++) {
    const tables = shape.levels[level] as readonly T[];
    if (tables.length < fanout) continue;
    return {
      inputs: tables,
      outputLevel: level + 1,
      dropTombstones: shape.levels.slice(level + 1).every((l) => l.length === 0),
    };
  }
  return undefined;
}

/**
 * A compaction of the whole tree into one table in the deepest level (at least level 1), dropping
 * tombstones; `undefined` when the tree holds at most one table.
 */
export function pickFullCompaction<T extends FileId>(shape: TreeShape<T>): PickedCompaction<T> | undefined {
  if (shape.order.length <= 1) return undefined;
  return { inputs: shape.order, outputLevel: Math.max(1, shape.levels.length - 1), dropTombstones: true };
}
