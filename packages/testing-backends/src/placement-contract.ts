import { expect } from "vitest";

/** What {@link expectPlaceAndDrop} needs of an engine: the placement half of `StorageEngine`, and `drop`. */
export interface PlacingEngine<L extends { readonly url: string }> {
  readonly component: string;
  readonly report: { readonly roots: readonly { readonly url: string }[] };
  place(id: string): Promise<L>;
  locate(id: string): L | undefined;
  collections(): string[];
  drop(id: string): Promise<void>;
}

/** How {@link expectPlaceAndDrop} sees one engine's files. */
export interface PlaceAndDropCase<L> {
  /** The component the engine must report. */
  readonly component: string;
  /** The roots it was opened on, in order (the discovery report must list exactly these). */
  readonly urls: readonly string[];
  /** The collection to place (the engine holds no other; `"other"` must stay unplaced). */
  readonly id: string;
  /** The keys of the collection's files in the root it was placed in. */
  keys(placed: L): Promise<string[]>;
  /** Writes the collection's first file (one flush of the engine). */
  write(): Promise<void>;
}

/**
 * The placement contract every engine keeps, asserted in one place: `place` assigns a root and writes
 * no file of the collection, `locate` and `collections` then show it (and nothing else), one write makes
 * one file, and `drop` deletes the files and forgets the placement.
 */
export async function expectPlaceAndDrop<L extends { readonly url: string }>(
  engine: PlacingEngine<L>,
  c: PlaceAndDropCase<L>,
): Promise<void> {
  expect(engine.component).toBe(c.component);
  expect(engine.report.roots.map((r) => r.url)).toEqual(c.urls);
  const placed = await engine.place(c.id);
  expect(engine.locate(c.id)).toEqual(placed);
  expect(engine.locate("other")).toBeUndefined();
  expect(engine.collections()).toEqual([c.id]);
  expect(await c.keys(placed)).toEqual([]);
  await c.write();
  expect(await c.keys(placed)).toHaveLength(1);
  await engine.drop(c.id);
  expect(engine.locate(c.id)).toBeUndefined();
  expect(engine.collections()).toEqual([]);
  expect(await c.keys(placed)).toEqual([]);
}
