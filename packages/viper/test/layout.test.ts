import { describe, expect, it } from "vitest";
import { compactedFileName, flushFileName, liveSet, parseDataFileName } from "../src/index.js";

const dir = "c/vectors/";
const entry = (name: string) => ({ key: `${dir}${name}`, size: 100 });
const names = (keys: { key: string }[]) => keys.map((k) => k.key.slice(dir.length));

describe("data file names", () => {
  it("round-trip through the parser and sort in sequence order", () => {
    expect(parseDataFileName(flushFileName(42))).toEqual({
      lo: 42,
      hi: 42,
      generation: 0,
      part: 1,
      parts: 1,
    });
    expect(parseDataFileName(compactedFileName(3, 17, 2, 4, 5))).toEqual({
      lo: 3,
      hi: 17,
      generation: 2,
      part: 4,
      parts: 5,
    });
    expect(flushFileName(9) < flushFileName(10)).toBe(true);
  });

  it("reject names that are not VIPER data files", () => {
    for (const bad of [
      "part-1.parquet",
      "part-0000000000000001.parquet.tmp",
      "x.parquet",
      compactedFileName(5, 4, 1, 1, 1),
      compactedFileName(1, 4, 0, 1, 1),
      compactedFileName(1, 4, 1, 3, 2),
    ]) {
      expect(parseDataFileName(bad), bad).toBeUndefined();
    }
  });
});

describe("the live set, derived from a listing alone", () => {
  it("is every flush file when nothing was compacted, and the next sequence follows the highest", () => {
    const set = liveSet([
      entry(flushFileName(2)),
      entry(flushFileName(1)),
      { key: `${dir}notes.txt`, size: 1 },
    ]);
    expect(names(set.live)).toEqual([flushFileName(1), flushFileName(2)]);
    expect(set.foreign).toEqual([`${dir}notes.txt`]);
    expect(set.nextSequence).toBe(3);
    expect(set.nextGeneration).toBe(1);
  });

  it("ignores a compaction whose parts are not all committed (the inputs stay live)", () => {
    const set = liveSet([
      entry(flushFileName(1)),
      entry(flushFileName(2)),
      entry(compactedFileName(1, 2, 1, 1, 2)),
    ]);
    expect(names(set.live)).toEqual([flushFileName(1), flushFileName(2)]);
    expect(names(set.garbage)).toEqual([compactedFileName(1, 2, 1, 1, 2)]);
    expect(set.nextGeneration).toBe(2);
  });

  it("switches to the compaction output when its last part lands, even before the inputs are deleted", () => {
    const out = [compactedFileName(1, 2, 1, 1, 2), compactedFileName(1, 2, 1, 2, 2)];
    const set = liveSet([
      entry(flushFileName(1)),
      entry(flushFileName(2)),
      entry(flushFileName(3)),
      ...out.map(entry),
    ]);
    expect(names(set.live)).toEqual([...out, flushFileName(3)]);
    expect(names(set.garbage)).toEqual([flushFileName(1), flushFileName(2)]);
  });

  it("lets a newer generation supersede an older compaction it covers", () => {
    const set = liveSet([
      entry(compactedFileName(1, 5, 1, 1, 1)),
      entry(flushFileName(6)),
      entry(compactedFileName(1, 6, 2, 1, 1)),
    ]);
    expect(names(set.live)).toEqual([compactedFileName(1, 6, 2, 1, 1)]);
    expect(set.nextSequence).toBe(7);
    expect(set.nextGeneration).toBe(3);
  });

  it("shows exactly the old set or exactly the new set at every step of the commit protocol", () => {
    // Old state: an earlier compaction and three flushes; new state: one 3-part compaction of all of it.
    const old = [
      compactedFileName(1, 4, 1, 1, 2),
      compactedFileName(1, 4, 1, 2, 2),
      flushFileName(5),
      flushFileName(6),
      flushFileName(7),
    ];
    const out = [1, 2, 3].map((i) => compactedFileName(1, 7, 2, i, 3));
    // Protocol: commit each part, then delete the inputs one by one (in any order).
    const steps: ((files: Set<string>) => void)[] = [
      ...out.map((name) => (files: Set<string>) => void files.add(name)),
      ...[...old].reverse().map((name) => (files: Set<string>) => void files.delete(name)),
    ];
    const files = new Set(old);
    const seen: string[] = [];
    for (let i = 0; i <= steps.length; i++) {
      const live = names(liveSet([...files].map(entry)).live);
      const which =
        JSON.stringify(live) === JSON.stringify(old)
          ? "old"
          : JSON.stringify(live) === JSON.stringify(out)
            ? "new"
            : "neither";
      seen.push(which);
      steps[i]?.(files);
    }
    expect(seen).toEqual(["old", "old", "old", "new", "new", "new", "new", "new", "new"]);
  });
});
