import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  COMPONENT_TYPES,
  InvalidCollectionIdError,
  InvalidComponentError,
  isCollectionId,
  isDataFile,
  isReservedName,
  parseCollectionId,
  parseComponentType,
} from "../src/index.js";

describe("ComponentType data-file rules", () => {
  it.each([
    ["wal", "data.avro", true],
    ["wal", "checkpoint.bincode", true],
    ["wal", "vectors.parquet", false],
    ["viper", "vectors/part-1.parquet", true],
    ["viper", "x.vpr", true],
    ["lsm", "level-0/000001.sst", true],
    ["lsm", "a.lsm", true],
    ["index", "h.hnsw", true],
    ["index", "i.ivf", true],
    ["index", "i.idx", true],
    ["metadata", "collection.json", true],
    ["metadata", "m.meta", true],
    ["viper", "readme.txt", false],
    ["viper", "_staging/part-1.parquet", false],
    ["viper", ".part-1.parquet.tmp", false],
    ["viper", ".parquet", false],
    ["viper", "vectors/_tmp/part.parquet", false],
    ["viper", "PART.PARQUET", true],
  ] as const)("%s: %s is data: %s", (component, key, expected) => {
    expect(isDataFile(component, key)).toBe(expected);
  });

  it("treats leading _ and . as reserved", () => {
    expect(isReservedName("_proximadb_root.json")).toBe(true);
    expect(isReservedName(".hidden")).toBe(true);
    expect(isReservedName("coll")).toBe(false);
  });

  it("parses known components and rejects others with a typed error", () => {
    for (const c of COMPONENT_TYPES) expect(parseComponentType(c)).toBe(c);
    expect(() => parseComponentType("wall")).toThrow(InvalidComponentError);
  });
});

describe("CollectionId", () => {
  it.each(["c1", "orders", "A-b_c", "x".repeat(128), "0abc"])("accepts %j", (id) => {
    expect(parseCollectionId(id)).toBe(id);
  });

  it.each([
    ["", "empty"],
    ["..", "dot-dot"],
    ["a/b", "slash"],
    ["a\0b", "NUL"],
    ["_staging", "reserved prefix"],
    ["-x", "leading dash"],
    [".hidden", "leading dot"],
    ["x".repeat(129), "too long"],
    ["a b", "space"],
    ["café", "non-ASCII"],
    ["a\\b", "backslash"],
  ])("rejects %j (%s) with InvalidCollectionIdError", (id) => {
    expect(() => parseCollectionId(id)).toThrow(InvalidCollectionIdError);
  });

  it("names the offending character in the message", () => {
    expect(() => parseCollectionId("a/b")).toThrow(/found "\/"/);
    expect(() => parseCollectionId("a\0b")).toThrow(/found NUL/);
  });

  it("never accepts an id that could leave its directory", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (s) => {
        if (isCollectionId(s)) {
          expect(s).not.toMatch(/[/\\\0.]/);
          expect(s.startsWith("_") || s.startsWith("-")).toBe(false);
          expect(s.length).toBeGreaterThan(0);
          expect(s.length).toBeLessThanOrEqual(128);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
