import { parseStorageUrl } from "@proximadb/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type IndexEngine, indexFileName } from "../src/index.js";
import { type RootsFixture, keysOf, openIndex, recordsOf, vectors } from "./helpers.js";

const DIM = 24;

/** The index engine's storage properties, run against one backend (local disk, s3rver). */
export function describeIndexRoundTrip(name: string, makeFixture: () => Promise<RootsFixture>): void {
  describe(`the index engine on ${name}`, () => {
    let fixture: RootsFixture;
    let index: IndexEngine;
    const records = recordsOf(vectors("clustered", 800, DIM, 21), DIM);
    const queries = vectors("clustered", 10, DIM, 22);

    beforeEach(async () => {
      fixture = await makeFixture();
      index = await openIndex(fixture);
    });
    afterEach(async () => {
      await index.close({ flush: false });
      await fixture.dispose();
    });

    it("keeps every index file in the collection's own directory of its one index root, and no staging", async () => {
      const collections = ["alpha", "beta", "gamma", "delta"];
      for (const [i, c] of collections.entries()) {
        await index.create(c, { dimension: DIM, metric: "l2" });
        await index.add(c, records.slice(i * 100, (i + 1) * 100 + 50));
        await index.flush(c);
        await index.delete(c, [`r${i * 100}`]);
        await index.compact(c);
      }
      for (const url of fixture.urls) {
        const fs = fixture.openFileSystem(parseStorageUrl(url));
        try {
          const expected: string[] = [];
          for (const c of collections) {
            if (index.locate(c)?.url !== url) continue;
            const { generation } = await index.stats(c);
            expected.push(
              `${c}/${indexFileName(generation, "hnsw")}`,
              `${c}/${indexFileName(generation, "idx")}`,
            );
          }
          // Reserved top-level names (the root marker, writer heartbeats under `_writers/`) are not index files.
          const keys = (await keysOf(fs)).filter((k) => !k.startsWith("_"));
          expect(keys, url).toEqual(expected.sort());
        } finally {
          await fs.close();
        }
      }
      expect(new Set(collections.map((c) => index.locate(c)?.url)).size).toBe(2);
    });

    it("gives the same answers after flush and a restart (discovery finds the collections by .idx/.hnsw)", async () => {
      await index.create("docs", { dimension: DIM, metric: "cosine" });
      await index.add("docs", records, { sequence: 3 });
      await index.delete("docs", ["r5", "r6"], { sequence: 4 });
      const before = [];
      for (let q = 0; q < 10; q++)
        before.push(await index.search("docs", queries.subarray(q * DIM, (q + 1) * DIM), { k: 10 }));
      const where = index.locate("docs")?.url;
      await index.close();
      index = await openIndex(fixture);
      expect(index.collections()).toEqual(["docs"]);
      expect(index.locate("docs")?.url).toBe(where);
      expect(await index.stats("docs")).toMatchObject({
        count: 798,
        tombstones: 2,
        sequence: 4,
        dirty: false,
      });
      for (let q = 0; q < 10; q++) {
        expect(await index.search("docs", queries.subarray(q * DIM, (q + 1) * DIM), { k: 10 })).toEqual(
          before[q],
        );
      }
    });
  });
}
