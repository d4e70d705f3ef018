// The tree's shape and its edits, without a file system: tables are plain values.
import { DataCorruptionError, InvalidArgumentError } from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { TreeShape, type TreeEdit } from "../src/shape.js";
import type { FileId } from "../src/sstable.js";

interface Table extends FileId {
  readonly replaces: readonly FileId[];
}
const t = (level: number, number: number, replaces: readonly number[] = []): Table => ({
  level,
  number,
  replaces: replaces.map((n) => ({ level: Math.max(0, level - 1), number: n })),
});
const numbers = (shape: TreeShape<Table>) => ({
  levels: shape.levels.map((l) => l.map((x) => x.number)),
  order: shape.order.map((x) => x.number),
  garbage: shape.garbage.map((x) => x.number),
});

/** Level 0: 3, 2; level 1: 1; garbage: none. */
const base = () => TreeShape.empty<Table>().apply({ added: [t(0, 2), t(1, 1), t(0, 3)] });

describe("TreeShape.apply", () => {
  it("adds a flushed table to level 0 ahead of older ones, and orders all tables by precedence", () => {
    const shape = base().apply({ added: [t(0, 4)] });
    expect(numbers(shape)).toEqual({ levels: [[4, 3, 2], [1]], order: [4, 3, 2, 1], garbage: [] });
  });

  it("moves a compaction's inputs to garbage and its output into the next level, keeping emptied levels", () => {
    const s0 = base();
    const inputs = s0.levels[0] as readonly Table[];
    const shape = s0.apply({ added: [t(1, 4, [3, 2])], removed: inputs });
    expect(numbers(shape)).toEqual({ levels: [[], [4, 1]], order: [4, 1], garbage: [2, 3] });
  });

  it("forgets garbage once its files are deleted, oldest first", () => {
    const s1 = base().apply({ added: [t(1, 4)], removed: [t(0, 3), t(0, 2)] });
    const s2 = s1.apply({ deleted: [t(0, 2)] });
    expect(numbers(s2).garbage).toEqual([3]);
    expect(numbers(s2.apply({ deleted: [t(0, 3)] })).garbage).toEqual([]);
  });

  it("grows new levels up to the deepest added table", () => {
    expect(numbers(TreeShape.empty<Table>().apply({ added: [t(2, 1)] })).levels).toEqual([[], [], [1]]);
  });

  it("leaves the shape it was applied to as it was", () => {
    const s0 = base();
    const before = numbers(s0);
    s0.apply({ added: [t(1, 9)], removed: [t(0, 3), t(0, 2)] });
    expect(numbers(s0)).toEqual(before);
  });

  const refused: [string, TreeEdit<Table>][] = [
    ["an added number already live", { added: [t(0, 3)] }],
    ["an added number live in another level", { added: [t(2, 6)] }],
    ["an added number twice", { added: [t(0, 7), t(1, 7)] }],
    ["an added number still garbage", { added: [t(0, 5)] }],
    ["a negative level", { added: [t(-1, 8)] }],
    ["a number of 0", { added: [t(0, 0)] }],
    ["removing a table that is not live", { removed: [t(0, 9)] }],
    ["removing a live table named with the wrong level", { removed: [t(1, 3)] }],
    ["removing a table twice", { removed: [t(0, 3), t(0, 3)] }],
    ["removing garbage", { removed: [t(0, 5)] }],
    ["deleting a live table", { deleted: [t(0, 3)] }],
    ["deleting garbage twice", { deleted: [t(0, 5), t(0, 5)] }],
    ["deleting garbage named with the wrong level", { deleted: [t(1, 5)] }],
    ["deleting a table that never existed", { deleted: [t(0, 42)] }],
  ];
  it.each(refused)("refuses %s with InvalidArgumentError and changes nothing", (_what, edit) => {
    const s0 = base()
      .apply({ added: [t(1, 6)], removed: [t(1, 1)] })
      .apply({ added: [t(0, 5)] });
    const withGarbage = s0.apply({ added: [t(1, 10)], removed: [t(0, 5)] }); // garbage: 1, 5
    const before = numbers(withGarbage);
    expect(() => withGarbage.apply(edit)).toThrow(InvalidArgumentError);
    expect(numbers(withGarbage)).toEqual(before);
  });
});

describe("TreeShape.recover", () => {
  it("treats tables named in a present table's replaces as garbage, the rest as live", () => {
    const { shape } = TreeShape.recover([t(0, 5), t(1, 4, [1, 2]), t(0, 2), t(0, 3)]);
    expect(numbers(shape)).toEqual({ levels: [[5, 3], [4]], order: [5, 3, 4], garbage: [2] });
  });

  it("numbers on above every table present or replaced", () => {
    expect(TreeShape.recover([]).nextNumber).toBe(1);
    expect(TreeShape.recover([t(0, 3), t(1, 2)]).nextNumber).toBe(4);
    expect(TreeShape.recover([t(1, 4, [7])]).nextNumber).toBe(8);
  });

  it("refuses a listing in which two tables share a number with DataCorruptionError", () => {
    expect(() => TreeShape.recover([t(0, 3), t(1, 3)])).toThrow(DataCorruptionError);
  });
});
