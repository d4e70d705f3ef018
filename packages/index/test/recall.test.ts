import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_INDEX_SETTINGS, type IndexEngine } from "../src/index.js";
import { type RootsFixture, memoryRoots, openIndex, recallAt, recordsOf, vectors } from "./helpers.js";

const N = 20_000;
const DIM = 128;
const QUERIES = 200;
const K = 10;

describe(`recall@${K} at the default settings (${JSON.stringify(DEFAULT_INDEX_SETTINGS)}) on ${N} vectors of dimension ${DIM}`, () => {
  let fixture: RootsFixture;
  let index: IndexEngine;
  beforeAll(async () => {
    fixture = memoryRoots(1);
    index = await openIndex(fixture);
  });
  afterAll(async () => {
    await index.close({ flush: false });
  });

  for (const kind of ["random", "clustered"] as const) {
    it(`is at least 0.95 against exact brute force on ${kind} vectors (cosine, fixed seed)`, async () => {
      const records = recordsOf(vectors(kind, N, DIM, 1), DIM);
      await index.create(kind, { dimension: DIM });
      await index.add(kind, records);
      const recall = await recallAt(index, kind, "cosine", records, vectors(kind, QUERIES, DIM, 2), DIM, K);
      console.log(`recall@${K} ${kind}: ${recall}`);
      expect(recall).toBeGreaterThanOrEqual(0.95);
    });
  }

  it("is at least 0.95 under l2 and ip on random vectors too", async () => {
    const records = recordsOf(vectors("random", 5_000, DIM, 3), DIM);
    for (const metric of ["l2", "ip"] as const) {
      await index.create(metric, { dimension: DIM, metric });
      await index.add(metric, records);
      const recall = await recallAt(index, metric, metric, records, vectors("random", 100, DIM, 4), DIM, K);
      console.log(`recall@${K} ${metric} (5,000 random): ${recall}`);
      expect(recall).toBeGreaterThanOrEqual(0.95);
    }
  });
});
