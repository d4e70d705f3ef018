/** Shared by the catalog and drop tests: a metadata component on one file system, and a definition. */
import type { CollectionId, FileSystem } from "@proximadb/core";
import type { CollectionLocation } from "@proximadb/engine";
import type { CollectionDefinition } from "../src/collection.js";
import type { ComponentStore } from "../src/engines/component-store.js";

/**
 * A metadata component on `fs`: placement is the set `placed` of ids, each at `<id>/`; `drop` runs
 * `onDrop` and then forgets the id.
 */
export function metadataStore(
  fs: FileSystem,
  placed: Set<string>,
  onDrop: (id: string) => Promise<unknown>,
): ComponentStore {
  const location = (id: string): CollectionLocation => ({
    collection: id as CollectionId,
    component: "metadata",
    url: fs.root.url,
    index: 0,
    fs,
    dir: `${id}/`,
  });
  return {
    component: "metadata",
    report: undefined as never,
    collections: () => [...placed] as CollectionId[],
    locate: (id) => (placed.has(id) ? location(id) : undefined),
    place: async (id) => {
      placed.add(id);
      return location(id);
    },
    drop: async (id) => {
      await onDrop(id);
      placed.delete(id);
    },
    fence: async () => undefined,
    epochOf: () => 0,
    close: async () => undefined,
  };
}

/** An LSM collection's definition (dimension 4) with WAL and engine placements on `mem://x`. */
export const lsmDefinition = (id: string): CollectionDefinition => ({
  format: 1,
  id: id as CollectionId,
  engine: "lsm",
  dimension: 4,
  createdAt: "2025-01-01T00:00:00.000Z",
  placements: { wal: { url: "mem://x/wal", index: 0 }, lsm: { url: "mem://x/lsm", index: 1 } },
});
