import type { CollectionId } from "@proximadb/core";
import { FsError, InvalidArgumentError } from "@proximadb/core";
import { createMemoryRoots } from "@proximadb/fs-memory";
import { describe, expect, it } from "vitest";
import { CATALOG_FILES, CollectionCatalog, readDefinitionAt } from "../src/catalog.js";
import { NodeError } from "../src/errors.js";
import { lsmDefinition, metadataStore } from "./catalog-support.js";

const URL = "mem://catalog-test/meta";

/** A metadata component on one memory root: placement is a set of ids, each at `<id>/`. */
function metadataOn(files: Record<string, string> = {}) {
  const roots = createMemoryRoots({ [URL]: files });
  const fs = roots.fs(URL);
  const placed = new Set(Object.keys(files).map((k) => k.split("/")[0] as string));
  const store = metadataStore(fs, placed, (id) => fs.deletePrefix(`${id}/`));
  const text = async (key: string) => new TextDecoder().decode(await fs.read(key));
  return { catalog: new CollectionCatalog(store), fs, text };
}

const definition = lsmDefinition;

describe("CollectionCatalog", () => {
  it("stores a definition at <id>/collection.json and reads it back", async () => {
    const { catalog, text } = metadataOn();
    await catalog.create(definition("docs"));
    expect(JSON.parse(await text(`docs/${CATALOG_FILES.definition}`))).toEqual(definition("docs"));
    expect(await catalog.definition("docs")).toEqual(definition("docs"));
    expect(catalog.listed()).toEqual(["docs"]);
  });

  it("refuses a second definition of an id with AlreadyExists and keeps the first", async () => {
    const { catalog } = metadataOn();
    await catalog.create(definition("docs"));
    const err = await catalog.create({ ...definition("docs"), dimension: 9 }).catch((e) => e);
    expect(err).toBeInstanceOf(NodeError);
    expect(err.kind).toBe("AlreadyExists");
    expect((await catalog.definition("docs"))?.dimension).toBe(4);
  });

  it("has no definition for an unplaced collection or a directory without one", async () => {
    const { catalog } = metadataOn({ "bare/wal-checkpoint.json": '{"walSequence":3}' });
    expect(await catalog.definition("absent")).toBeUndefined();
    expect(await catalog.definition("bare")).toBeUndefined();
  });

  it.each([
    ["definition", "collection.json", '{"format":2}'],
    ["tombstone", "dropping.json", "{}"],
  ] as const)(
    "refuses a stored file that is not a %s with InvalidArgumentError naming it",
    async (what, file, stored) => {
      const { catalog } = metadataOn({ [`docs/${file}`]: stored });
      const err = await catalog[what]("docs").catch((e) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toContain(`${URL}/docs/${file}`);
    },
  );

  it("records the WAL checkpoint at <id>/wal-checkpoint.json; 0 before any", async () => {
    const { catalog, text } = metadataOn();
    await catalog.create(definition("docs"));
    expect(await catalog.checkpoint("docs")).toBe(0);
    await catalog.setCheckpoint("docs" as CollectionId, 42);
    expect(JSON.parse(await text(`docs/${CATALOG_FILES.checkpoint}`))).toEqual({ walSequence: 42 });
    expect(await catalog.checkpoint("docs")).toBe(42);
  });

  it("throws for an unreadable checkpoint (the caller replays everything)", async () => {
    const { catalog } = metadataOn({ "docs/wal-checkpoint.json": "{not json" });
    await expect(catalog.checkpoint("docs")).rejects.toThrow();
  });

  it("drop deletes every document of the collection", async () => {
    const { catalog, fs } = metadataOn();
    await catalog.create(definition("docs"));
    await catalog.setCheckpoint("docs" as CollectionId, 7);
    await catalog.drop("docs" as CollectionId);
    expect(await catalog.definition("docs")).toBeUndefined();
    await expect(fs.read(`docs/${CATALOG_FILES.checkpoint}`)).rejects.toBeInstanceOf(FsError);
  });

  it("keeps a drop's tombstone at <id>/dropping.json; none before a drop", async () => {
    const { catalog, text } = metadataOn();
    await catalog.create(definition("docs"));
    expect(await catalog.tombstone("docs")).toBeUndefined();
    await catalog.markDropping("docs" as CollectionId, { format: 1, droppedAt: "2025-01-02T00:00:00Z" });
    expect(JSON.parse(await text(`docs/${CATALOG_FILES.tombstone}`))).toEqual({
      format: 1,
      droppedAt: "2025-01-02T00:00:00Z",
    });
    expect(await catalog.tombstone("docs")).toEqual({ format: 1, droppedAt: "2025-01-02T00:00:00Z" });
  });

  it("finishDrop deletes every document, the tombstone last, and forgets the collection", async () => {
    const { catalog, fs } = metadataOn();
    await catalog.create(definition("docs"));
    await catalog.setCheckpoint("docs" as CollectionId, 7);
    await catalog.markDropping("docs" as CollectionId, { format: 1, droppedAt: "2025-01-02T00:00:00Z" });
    await catalog.finishDrop("docs" as CollectionId);
    expect(catalog.has("docs")).toBe(false);
    for (const f of Object.values(CATALOG_FILES))
      await expect(fs.read(`docs/${f}`)).rejects.toBeInstanceOf(FsError);
  });

  it("readDefinitionAt reads the same definition through a root's file system (the read-only CLI)", async () => {
    const { catalog, fs } = metadataOn();
    await catalog.create(definition("docs"));
    expect(await readDefinitionAt(fs, "docs")).toEqual(definition("docs"));
    expect(await readDefinitionAt(fs, "other")).toBeUndefined();
  });
});
