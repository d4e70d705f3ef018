import { listAll } from "@proximadb/core";
import { describeRelease } from "@proximadb/testing-backends";
import { expect } from "vitest";
import { ViperEngine } from "../src/index.js";

describeRelease(
  "ViperEngine.release",
  "viper",
  (service, tier) =>
    ViperEngine.open({ service, openFileSystem: (r) => tier.openFileSystem(r), nodeId: "n" }),
  (test) => {
    test("forgets the live files so reads and flushes follow the collection to its new root", async ({
      engine: viper,
      move,
      tier,
    }) => {
      await viper.createCollection("docs", { dimension: 2 });
      await viper.flush("docs", [{ id: "a", vector: Float32Array.from([1, 2]), metadata: null }]);
      expect((await viper.get("docs", "a"))?.vector).toEqual(Float32Array.from([1, 2]));
      const { from } = await move("docs");
      expect((await viper.get("docs", "a"))?.vector).toEqual(Float32Array.from([1, 2]));
      await viper.flush("docs", [{ id: "b", vector: Float32Array.from([3, 4]), metadata: null }]);
      expect(await viper.count("docs")).toBe(2);
      expect((await listAll(tier.openFileSystem(from), "docs/")).files).toEqual([]);
    });
  },
);
