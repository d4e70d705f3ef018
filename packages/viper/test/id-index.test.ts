import { describe, expect, it } from "vitest";
import { encodeParquet } from "../src/format.js";
import { IdIndex } from "../src/id-index.js";
import { type DataFile, flushFileName, parseDataFileName } from "../src/layout.js";
import { layoutOf } from "../src/row-groups.js";

/** A flush file of these ids (tombstones where `deleted`), as the index sees it. */
function file(seq: number, ids: string[], deleted: boolean[] = ids.map(() => false)) {
  const name = flushFileName(seq);
  const key = `c/vectors/${name}`;
  const bytes = encodeParquet({
    dimension: 2,
    ids,
    vectors: new Float32Array(ids.length * 2),
    metadata: ids.map(() => null),
    sequences: ids.map(() => seq),
    deleted,
  });
  const parsed = parseDataFileName(name);
  if (!parsed) throw new Error(name);
  const data: DataFile = { key, name, size: bytes.byteLength, ...parsed };
  return { data, layout: layoutOf(key, bytes), ids, deleted };
}

function indexOf(...files: ReturnType<typeof file>[]): IdIndex {
  const index = new IdIndex();
  for (const f of files) index.add(f.data, f.layout, f.ids, f.deleted);
  return index;
}

describe("the id index", () => {
  it("points each id at the row of the newest file that holds it", () => {
    const index = indexOf(file(1, ["a", "b", "c"]), file(2, ["c", "d"]), file(3, ["a"]));
    const where = (id: string) => {
      const hit = index.lookup(id);
      return hit && [hit.file.file.key, hit.row];
    };
    expect(where("a")).toEqual(["c/vectors/part-0000000000000003.parquet", 0]);
    expect(where("b")).toEqual(["c/vectors/part-0000000000000001.parquet", 1]);
    expect(where("c")).toEqual(["c/vectors/part-0000000000000002.parquet", 0]);
    expect(where("d")).toEqual(["c/vectors/part-0000000000000002.parquet", 1]);
    expect(where("e")).toBeUndefined();
    expect(index.count).toBe(4);
  });

  it("hides an id whose newest version is a tombstone, and counts it again once rewritten", () => {
    const index = indexOf(file(1, ["a", "b"]), file(2, ["a", "x"], [true, true]));
    expect(index.lookup("a")).toBeUndefined();
    expect(index.has("a")).toBe(false);
    expect(index.has("x")).toBe(false);
    expect(index.has("b")).toBe(true);
    expect(index.count).toBe(1);
    const f3 = file(3, ["a"]);
    index.add(f3.data, f3.layout, f3.ids, f3.deleted);
    expect(index.has("a")).toBe(true);
    expect(index.count).toBe(2);
  });

  it("finds rows in the file after an empty one (the empty file of createCollection)", () => {
    const index = indexOf(file(1, []), file(2, ["a", "b"]), file(3, []), file(4, ["c"]));
    expect(index.lookup("b")?.file.file.key).toBe("c/vectors/part-0000000000000002.parquet");
    expect(index.lookup("b")?.row).toBe(1);
    expect(index.lookup("c")?.file.file.key).toBe("c/vectors/part-0000000000000004.parquet");
  });

  it("lists per file, ascending, exactly the rows a scan or a compaction must copy", () => {
    const index = indexOf(
      file(1, ["a", "b", "c", "d"]),
      file(2, ["d", "b", "e"], [false, true, false]),
      file(3, []),
    );
    expect(index.rowsPerFile().map((rows) => Array.from(rows))).toEqual([[0, 2], [0, 2], []]);
  });

  it("refuses a file whose id list does not match its row count", () => {
    const f = file(1, ["a", "b"]);
    expect(() => new IdIndex().add(f.data, f.layout, ["a"], [false])).toThrow(RangeError);
  });
});
