import { DataCorruptionError } from "@proximadb/core";
import { useBackend } from "@proximadb/testing-backends";
import * as arrow from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import * as pw from "parquet-wasm";
import { describe, expect, it } from "vitest";
import { DIMENSION_KEY, FORMAT_KEY, type RecordColumns, encodeParquet } from "../src/format.js";
import { FOOTER_GUESS_BYTES, layoutOf, readLayout } from "../src/row-groups.js";
import { makeRecords, openViper, plain, scanAll } from "./helpers.js";

/** Columns of `n` records of dimension `d`, every seventh a tombstone, every fifth without metadata. */
function columns(n: number, d: number): RecordColumns {
  const records = makeRecords(n, d, { seed: 11 });
  const vectors = new Float32Array(n * d);
  records.forEach((r, i) => {
    vectors.set(r.vector as Float32Array, i * d);
  });
  return {
    dimension: d,
    ids: records.map((r) => r.id),
    vectors,
    metadata: records.map((r, i) => (i % 5 === 0 ? null : JSON.stringify(r.metadata))),
    sequences: records.map((_, i) => 1000 + i),
    deleted: records.map((_, i) => i % 7 === 0),
  };
}

/** Reads of a buffer, counted. */
function bufferReader(bytes: Uint8Array) {
  const reads: { offset: number; length: number }[] = [];
  return {
    reads,
    read: async (offset: number, length: number) => {
      reads.push({ offset, length });
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** The same file with the column order VIPER wrote before key columns came first. */
function withLegacyColumnOrder(bytes: Uint8Array, dimension: number, rowGroupRows: number): Uint8Array {
  const table = arrow.tableFromIPC(pw.readParquet(bytes).intoIPCStream());
  const legacy = table.select(["id", "vector", "metadata", "sequence", "deleted"]);
  const props = new pw.WriterPropertiesBuilder()
    .setMaxRowGroupSize(rowGroupRows)
    .setDictionaryEnabled(false)
    .setKeyValueMetadata(
      new Map([
        [FORMAT_KEY, "1"],
        [DIMENSION_KEY, String(dimension)],
      ]),
    )
    .build();
  return pw.writeParquet(pw.Table.fromIPCStream(arrow.tableToIPC(legacy, "stream")), props);
}

function expectRows(bytes: Uint8Array, cols: RecordColumns): void {
  const layout = layoutOf("f.parquet", bytes);
  const d = cols.dimension;
  expect(layout.rows).toBe(cols.ids.length);
  expect(layout.dimension).toBe(d);
  for (let row = 0; row < layout.rows; row++) {
    const range = layout.rowGroupRange(layout.rowGroupOf(row));
    const got = layout.decodeRow(
      row,
      bytes.subarray(range.offset, range.offset + range.length),
      range.offset,
    );
    expect(got.id).toBe(cols.ids[row]);
    expect(got.sequence).toBe(cols.sequences[row]);
    expect(got.deleted).toBe(cols.deleted[row]);
    expect(got.metadata).toBe(cols.metadata[row]);
    expect(Array.from(got.vector)).toEqual(Array.from(cols.vectors.subarray(row * d, (row + 1) * d)));
  }
}

describe("row-group layouts and point decoding", () => {
  it("decodes every row from its row group alone, across row groups of several vector pages", () => {
    const cols = columns(1000, 128);
    const bytes = encodeParquet(cols, { rowGroupRows: 100 });
    const layout = layoutOf("f.parquet", bytes);
    expect(layout.rowGroups).toBe(10);
    // The vector chunk of a group spans several data pages, so the page walk is exercised.
    const vectorChunk = parquetMetadata(bytes).row_groups[0]?.columns.find(
      (c) => c.meta_data?.path_in_schema[0] === "vector",
    );
    expect(vectorChunk?.meta_data?.encoding_stats?.[0]?.count).toBeGreaterThan(3);
    expectRows(bytes, cols);
  });

  it("keeps the key columns of a row group in one range much smaller than the group", () => {
    const cols = columns(1000, 128);
    const layout = layoutOf("f.parquet", encodeParquet(cols, { rowGroupRows: 100 }));
    for (let g = 0; g < layout.rowGroups; g++) {
      const group = layout.rowGroupRange(g);
      const keys = layout.keyRange(g);
      expect(keys.offset).toBe(group.offset);
      expect(keys.length).toBeLessThan(group.length / 10);
    }
  });

  it("reads files written with the earlier column order (id, vector, metadata, sequence, deleted)", () => {
    const cols = columns(300, 24);
    const legacy = withLegacyColumnOrder(encodeParquet(cols), 24, 64);
    expect(parquetMetadata(legacy).schema[1]?.name).toBe("id");
    expect(parquetMetadata(legacy).schema[2]?.name).toBe("vector");
    expectRows(legacy, cols);
  });

  it("reads a footer in one read when it fits the first guess and in two when it is longer", async () => {
    const small = encodeParquet(columns(200, 8), { rowGroupRows: 50 });
    const one = bufferReader(small);
    expect((await readLayout("s", small.byteLength, one.read)).rowGroups).toBe(4);
    expect(one.reads).toHaveLength(1);
    // One row per group: a footer of several hundred KB.
    const cols = columns(2000, 4);
    const large = encodeParquet(cols, { rowGroupRows: 1 });
    const two = bufferReader(large);
    const layout = await readLayout("l", large.byteLength, two.read);
    expect(two.reads).toHaveLength(2);
    expect(two.reads[1]?.length).toBeGreaterThan(FOOTER_GUESS_BYTES);
    expect(layout.rowGroups).toBe(2000);
    expectRows(large, cols);
  });

  it("rejects bytes that are not a VIPER Parquet file with DataCorruptionError naming the key", async () => {
    const text = new TextEncoder().encode("x".repeat(100));
    await expect(readLayout("bad.parquet", text.byteLength, bufferReader(text).read)).rejects.toSatisfy(
      (e: unknown) => e instanceof DataCorruptionError && e.key === "bad.parquet",
    );
    const foreign = pw.writeParquet(
      pw.Table.fromIPCStream(
        arrow.tableToIPC(arrow.tableFromArrays({ a: Int32Array.from([1, 2]) }), "stream"),
      ),
    );
    expect(() => layoutOf("foreign.parquet", foreign)).toThrow(DataCorruptionError);
  });
});

describe("a collection whose files have the earlier column order", () => {
  const memory = useBackend("memory");

  it("gets, counts and scans them like new files", async () => {
    const roots = await memory.roots("viper", 1);
    const cols = columns(120, 16);
    const bytes = withLegacyColumnOrder(encodeParquet({ ...cols, sequences: cols.ids.map(() => 1) }), 16, 32);
    await roots.write(roots.urls[0] as string, { "old/vectors/part-0000000000000001.parquet": bytes });
    const viper = await openViper(roots);
    try {
      const live = cols.ids.filter((_, i) => !cols.deleted[i]);
      expect(await viper.count("old")).toBe(live.length);
      const got = await viper.get("old", "rec-8");
      expect(Array.from(got?.vector ?? [])).toEqual(Array.from(cols.vectors.subarray(8 * 16, 9 * 16)));
      expect(await viper.get("old", "rec-7")).toBeUndefined(); // a tombstone
      const want = cols.ids.flatMap((id, i) =>
        cols.deleted[i]
          ? []
          : [
              {
                id,
                vector: cols.vectors.subarray(i * 16, (i + 1) * 16),
                metadata: cols.metadata[i] === null ? null : JSON.parse(cols.metadata[i] as string),
              },
            ],
      );
      expect(await scanAll(viper, "old")).toEqual(plain(want));
    } finally {
      await viper.close();
    }
  });
});
