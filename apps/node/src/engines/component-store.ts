import { type CollectionId, type ComponentType, isDataFile, listAll } from "@proximadb/core";
import type { DiscoveryReport } from "@proximadb/discovery";
import type { CollectionLocation, EngineBase } from "@proximadb/engine";

/**
 * What the node needs of one component's placement: the `StorageEngine` shape every engine presents
 * (`collections`, `locate`, `place`, `drop`, `report`, `close`). Catalog, recovery and usage work on this
 * shape only, whatever engine is behind it.
 */
export interface ComponentStore {
  readonly component: ComponentType;
  /** The discovery report the engine's placement map was rebuilt from (roots created at open online). */
  readonly report: DiscoveryReport;
  /** Collections placed in this component. */
  collections(): CollectionId[];
  /** Where a collection lives, without placing it. */
  locate(id: string): CollectionLocation | undefined;
  /** Places the collection (a root on first use, its marker written if needed) and returns where it lives. */
  place(id: string): Promise<CollectionLocation>;
  /** Deletes every file of the collection in this component and forgets its placement. */
  drop(id: string): Promise<void>;
  close(): Promise<void>;
}

/** The {@link ComponentStore} of an engine base (today's API names `place` `collectionDir`). */
export function componentStore(base: EngineBase): ComponentStore {
  return {
    component: base.component,
    get report() {
      return base.report;
    },
    collections: () => base.collections(),
    locate: (id) => base.locate(id),
    place: (id) => base.collectionDir(id),
    drop: (id) => base.drop(id),
    close: () => base.close(),
  };
}

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
