// Compaction picking as a pure function of the tree's shape: no file system, no tree.
import { InvalidArgumentError } from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { pickCompaction, pickFullCompaction } from "../src/picker.js";
import { TreeShape } from "../src/shape.js";
import type { FileId } from "../src/sstable.js";

/** A shape from table counts per level (numbers ascend from the deepest level up, as a tree makes them). */
function shapeOf(counts: readonly number[]): TreeShape<FileId> {
  const added: FileId[] = [];
  let number = 1;
  for (let level = counts.length - 1; level >= 0; level--)
    for (let i = 0; i < (counts[level] as number); i++) added.push({ level, number: number++ });
  return TreeShape.empty<FileId>().apply({ added });
}

describe("pickCompaction", () => {
  const cases: [
    string,
    number[],
    number,
    { from: number; to: number; dropTombstones: boolean } | undefined,
  ][] = [
    ["an empty tree: nothing", [], 4, undefined],
    ["no level full: nothing", [3, 3, 1], 4, undefined],
    [
      "a full level 0 over empty levels: into level 1, tombstones dropped",
      [4],
      4,
      { from: 0, to: 1, dropTombstones: true },
    ],
    [
      "a full level 0 over a level 1 with tables: tombstones kept",
      [4, 2],
      4,
      { from: 0, to: 1, dropTombstones: false },
    ],
    [
      "a full level 0 over data in level 2 only: tombstones kept",
      [4, 0, 1],
      4,
      { from: 0, to: 1, dropTombstones: false },
    ],
    [
      "a full level 1 under a short level 0: into level 2",
      [2, 4],
      4,
      { from: 1, to: 2, dropTombstones: true },
    ],
    ["two full levels: the shallowest first", [4, 5], 4, { from: 0, to: 1, dropTombstones: false }],
    ["more than fanout in a level: the whole level", [6], 4, { from: 0, to: 1, dropTombstones: true }],
    ["emptied upper levels over a full level 2", [0, 0, 2], 2, { from: 2, to: 3, dropTombstones: true }],
  ];
  it.each(cases)("%s", (_what, counts, levelFanout, want) => {
    const shape = shapeOf(counts);
    const picked = pickCompaction(shape, { levelFanout });
    if (want === undefined) {
      expect(picked).toBeUndefined();
      return;
    }
    expect(picked?.inputs).toEqual(shape.levels[want.from]);
    expect(picked?.outputLevel).toBe(want.to);
    expect(picked?.dropTombstones).toBe(want.dropTombstones);
  });

  it("gives the inputs in precedence order (highest number first)", () => {
    const picked = pickCompaction(shapeOf([3]), { levelFanout: 3 });
    expect(picked?.inputs.map((t) => t.number)).toEqual([3, 2, 1]);
  });

  it.each([1, 0, 2.5, Number.NaN])("refuses levelFanout %s with InvalidArgumentError", (levelFanout) => {
    expect(() => pickCompaction(shapeOf([4]), { levelFanout })).toThrow(InvalidArgumentError);
  });
});

describe("pickFullCompaction", () => {
  it.each([
    [[], undefined],
    [[1], undefined],
    [[0, 0, 1], undefined],
    [[2], 1],
    [[1, 1], 1],
    [[3, 0, 2], 2],
  ] as [number[], number | undefined][])("on level counts %j: output level %s", (counts, level) => {
    const shape = shapeOf(counts);
    const picked = pickFullCompaction(shape);
    if (level === undefined) {
      expect(picked).toBeUndefined();
      return;
    }
    expect(picked?.inputs).toEqual(shape.order);
    expect(picked?.outputLevel).toBe(level);
    expect(picked?.dropTombstones).toBe(true);
  });
});
