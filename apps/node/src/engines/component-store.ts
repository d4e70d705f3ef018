import { type CollectionId, isDataFile, listAll } from "@proximadb/core";
import type { StorageEngine } from "@proximadb/engine";

/**
 * What the node needs of one component's placement: the `StorageEngine` shape every engine presents
 * (`collections`, `locate`, `place`, `drop`, `report`, `close`). Catalog, recovery and usage work on this
 * shape only, whatever engine is behind it.
 */
export type ComponentStore = StorageEngine;

/** Data files and bytes of one collection in one component (one listing), or undefined when not placed. */
export async function componentUsage(
  store: ComponentStore,
  id: CollectionId,
): Promise<{ url: string; index: number; files: number; bytes: number } | undefined> {
  const loc = store.locate(id);
  if (!loc) return undefined;
  let files = 0;
  let bytes = 0;
  for (const f of (await listAll(loc.fs, loc.dir)).files) {
    if (!isDataFile(store.component, f.key)) continue;
    files++;
    bytes += f.size;
  }
  return { url: loc.url, index: loc.index, files, bytes };
}

/**
 * Files and bytes of one collection per component (one listing of its directory per component); a
 * component whose root `skip(url)` names is left out.
 */
export async function collectionUsage(
  stores: readonly ComponentStore[],
  id: CollectionId,
  skip: (url: string) => boolean = () => false,
): Promise<Record<string, { url: string; index: number; files: number; bytes: number }>> {
  const out: Record<string, { url: string; index: number; files: number; bytes: number }> = {};
  for (const store of stores) {
    const at = store.locate(id);
    if (at && skip(at.url)) continue;
    const usage = await componentUsage(store, id);
    if (usage) out[store.component] = usage;
  }
  return out;
}
