import { DataCorruptionError, InvalidArgumentError } from "@proximadb/core";
import { useBackend } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { isViperError } from "../src/index.js";
import { makeRecords, openViper } from "./helpers.js";

describe("bad input gets a typed error and writes nothing", () => {
  const memory = useBackend("memory");

  it("rejects malformed records and wrong dimensions by kind, and bad options as InvalidArgumentError", async () => {
    const viper = await openViper(await memory.roots("viper", 1));
    try {
      await viper.createCollection("typed", { dimension: 3 });
      const cases: [Promise<unknown>, "InvalidRecord" | "DimensionMismatch" | "InvalidArgument"][] = [
        [viper.flush("typed", [{ id: "", vector: [1, 2, 3] }]), "InvalidRecord"],
        [viper.flush("typed", [{ id: "a" }]), "InvalidRecord"],
        [viper.flush("typed", [{ id: "a", vector: [1, 2] }]), "DimensionMismatch"],
        [viper.flush("typed", [{ id: "a", vector: [1, 2, 3], metadata: [1] as never }]), "InvalidRecord"],
        [viper.createCollection("typed", { dimension: 4 }), "DimensionMismatch"],
        [viper.createCollection("other", { dimension: 0 }), "InvalidArgument"],
        [viper.compact("typed", { targetFileBytes: 0 }), "InvalidArgument"],
      ];
      for (const [p, kind] of cases) {
        const err = await p.then(
          () => undefined,
          (e: unknown) => e,
        );
        if (kind === "InvalidArgument") expect(err, String(err)).toBeInstanceOf(InvalidArgumentError);
        else expect(isViperError(err, kind), `${kind}: ${String(err)}`).toBe(true);
      }
      expect((await viper.files("typed"))?.live).toHaveLength(1); // only createCollection's empty file
      expect(await viper.count("typed")).toBe(0);
      expect(await viper.flush("typed", [])).toBeUndefined();
    } finally {
      await viper.close();
    }
  });

  it("refuses a row-group size that is not a positive number before opening anything", async () => {
    const roots = await memory.roots("viper", 1);
    for (const rowGroupBytes of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const err = await openViper(roots, "node-a", { rowGroupBytes }).catch((e: unknown) => e);
      expect(err, String(rowGroupBytes)).toBeInstanceOf(InvalidArgumentError);
    }
    expect(await roots.keys(roots.urls[0] as string)).toEqual([]);
  });

  it("reports a damaged data file as DataCorruptionError naming its key", async () => {
    const viper = await openViper(await memory.roots("viper", 1));
    try {
      const flushed = await viper.flush("hurt", makeRecords(3, 4));
      const location = viper.locate("hurt");
      if (!flushed || !location) throw new Error("not flushed");
      await location.fs.write(flushed.key, new Uint8Array(64).fill(7));
      const err = await viper.get("hurt", "rec-0").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataCorruptionError);
      expect(err).toMatchObject({ code: "DATA_CORRUPTION", key: flushed.key });
    } finally {
      await viper.close();
    }
  });
});
