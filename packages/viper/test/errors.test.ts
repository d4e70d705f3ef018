import { describe, expect, it } from "vitest";
import { isViperError } from "../src/index.js";
import { memoryRoots, openViper } from "./helpers.js";

describe("bad input gets a typed error and writes nothing", () => {
  it("rejects malformed records, wrong dimensions and bad options by kind", async () => {
    const viper = await openViper(memoryRoots(1));
    try {
      await viper.createCollection("typed", { dimension: 3 });
      const cases: [Promise<unknown>, string][] = [
        [viper.flush("typed", [{ id: "", vector: [1, 2, 3] }]), "InvalidRecord"],
        [viper.flush("typed", [{ id: "a" }]), "InvalidRecord"],
        [viper.flush("typed", [{ id: "a", vector: [1, 2] }]), "DimensionMismatch"],
        [viper.flush("typed", [{ id: "a", vector: [1, 2, 3], metadata: [1] as never }]), "InvalidRecord"],
        [viper.createCollection("typed", { dimension: 4 }), "DimensionMismatch"],
        [viper.createCollection("other", { dimension: 0 }), "InvalidOption"],
        [viper.compact("typed", { targetFileBytes: 0 }), "InvalidOption"],
      ];
      for (const [p, kind] of cases) {
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isViperError(err, kind as never), `${kind}: ${String(err)}`).toBe(true);
      }
      expect((await viper.files("typed"))?.live).toHaveLength(1); // only createCollection's empty file
      expect(await viper.count("typed")).toBe(0);
      expect(await viper.flush("typed", [])).toBeUndefined();
    } finally {
      await viper.close();
    }
  });
});
