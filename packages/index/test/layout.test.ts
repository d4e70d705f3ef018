import { describe, expect, it } from "vitest";
import { indexFileName, indexFiles, parseIndexFileName } from "../src/index.js";

const entry = (name: string, size = 10) => ({ key: `c/${name}`, size });
const hnsw = (g: number) => entry(indexFileName(g, "hnsw"));
const idx = (g: number) => entry(indexFileName(g, "idx"));

describe("the live pair, from the listing alone", () => {
  it("names generations with 16 digits and parses them back", () => {
    expect(indexFileName(7, "hnsw")).toBe("index-0000000000000007.hnsw");
    expect(parseIndexFileName("index-0000000000000007.idx")).toEqual({ generation: 7, kind: "idx" });
    for (const bad of ["index-7.idx", "index-0000000000000000.idx", "index-0000000000000007.ivf", "x.idx"]) {
      expect(parseIndexFileName(bad)).toBeUndefined();
    }
  });

  it("is the highest generation with both files", () => {
    const files = indexFiles("c/", [hnsw(1), idx(1), hnsw(2), idx(2)]);
    expect(files.live?.generation).toBe(2);
    expect(files.garbage.map((f) => f.key)).toEqual([idx(1).key, hnsw(1).key]);
    expect(files.nextGeneration).toBe(3);
  });

  it("treats a .hnsw whose .idx never landed as garbage, and never reuses its generation", () => {
    const files = indexFiles("c/", [hnsw(3), idx(3), hnsw(4)]);
    expect(files.live?.generation).toBe(3);
    expect(files.garbage.map((f) => f.key)).toEqual([hnsw(4).key]);
    expect(files.nextGeneration).toBe(5);
  });

  it("treats an .idx without its .hnsw as garbage", () => {
    const files = indexFiles("c/", [hnsw(1), idx(1), idx(2)]);
    expect(files.live?.generation).toBe(1);
    expect(files.garbage.map((f) => f.key)).toEqual([idx(2).key]);
  });

  it("has no live pair when no generation is complete", () => {
    expect(indexFiles("c/", [hnsw(1)]).live).toBeUndefined();
    expect(indexFiles("c/", []).live).toBeUndefined();
    expect(indexFiles("c/", []).nextGeneration).toBe(1);
  });

  it("orders garbage every .idx before any .hnsw", () => {
    const files = indexFiles("c/", [hnsw(1), idx(1), hnsw(2), idx(2), hnsw(3), idx(3), hnsw(5)]);
    expect(files.garbage.map((f) => f.key)).toEqual([
      idx(1).key,
      idx(2).key,
      hnsw(1).key,
      hnsw(2).key,
      hnsw(5).key,
    ]);
  });

  it("ignores staging, sub-folders and other names", () => {
    const files = indexFiles("c/", [
      hnsw(1),
      idx(1),
      { key: `c/_staging/${indexFileName(9, "idx")}.node.0-00`, size: 1 },
      { key: `c/sub/${indexFileName(9, "idx")}`, size: 1 },
      { key: "c/notes.txt", size: 1 },
      { key: `d/${indexFileName(9, "idx")}`, size: 1 },
    ]);
    expect(files.live?.generation).toBe(1);
    expect(files.garbage).toEqual([]);
    expect(files.nextGeneration).toBe(2);
  });
});
