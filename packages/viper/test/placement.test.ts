import { expectPlaceAndDrop, useBackend } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { keysOf, makeRecords, openViper, scanAll } from "./helpers.js";

describe("placement of VIPER collections", () => {
  const local = useBackend("local");
  const memory = useBackend("memory");

  it("keeps every file of each of 30 collections under its own root (3 roots), across flush, compaction and restart", async () => {
    const fixture = await local.roots("root", 3);
    const viper = await openViper(fixture);
    const ids = Array.from({ length: 30 }, (_, i) => `col-${i}`);
    for (const id of ids) {
      await viper.flush(id, makeRecords(4, 4, { seed: 1 }));
      await viper.flush(id, makeRecords(4, 4, { seed: 2, start: 2 }));
    }
    for (const id of ids.filter((_, i) => i % 2 === 0)) await viper.compact(id);
    const home = new Map(ids.map((id) => [id, viper.locate(id)?.url]));
    await viper.close();

    const reopened = await openViper(fixture, "node-b");
    try {
      expect(reopened.collections().sort()).toEqual([...ids].sort());
      const perRoot = new Map<string, number>();
      for (const id of ids) {
        const location = reopened.locate(id);
        expect(location?.url, id).toBe(home.get(id));
        perRoot.set(location?.url as string, (perRoot.get(location?.url as string) ?? 0) + 1);
        expect(await scanAll(reopened, id)).toHaveLength(6);
      }
      // Round-robin: 10 per root.
      expect([...perRoot.values()]).toEqual([10, 10, 10]);
      // Every key under <id>/ is in exactly the collection's home root; no root holds another's files.
      for (const url of fixture.urls) {
        const keys = await fixture.keys(url);
        for (const key of keys) {
          if (key.startsWith("_")) continue; // root marker
          const id = key.slice(0, key.indexOf("/"));
          expect(home.get(id), key).toBe(url);
        }
        const present = new Set(
          keys.filter((k) => !k.startsWith("_")).map((k) => k.slice(0, k.indexOf("/"))),
        );
        expect(present.size).toBe(10);
      }
    } finally {
      await reopened.close();
    }
  });

  it("places a collection without writing a file, and drop deletes its files and placement", async () => {
    const fixture = await memory.roots("viper", 2);
    const viper = await openViper(fixture);
    try {
      await expectPlaceAndDrop(viper, {
        component: "viper",
        urls: fixture.urls,
        id: "docs",
        keys: (placed) => keysOf(placed.fs, "docs/"),
        write: async () => {
          await viper.flush("docs", makeRecords(2, 3));
        },
      });
    } finally {
      await viper.close();
    }
  });
});
