import {
  type CollectionId,
  type ComponentType,
  type FileSystem,
  InvalidArgumentError,
  isComponentType,
  parseCollectionId,
} from "@proximadb/core";
import { notDataReason } from "./classify.js";
import type { CollectionSizes } from "./types.js";

/** What listing one collection's folder with sizes found. */
export interface CopyMeasurement {
  /** Data files found now. */
  files: number;
  /** Their sizes and times; all zero when the data files are gone since the first listing. */
  sizes: CollectionSizes;
  /** LIST pages issued. */
  requests: number;
}

/** Lists `<collection>/` with sizes and sums its data files (the same rules as discovery's listing). */
export async function measureCopy(
  fs: FileSystem,
  component: ComponentType,
  collection: CollectionId,
  options: { pageSize?: number; signal?: AbortSignal | undefined } = {},
): Promise<CopyMeasurement> {
  const prefix = `${collection}/`;
  let files = 0;
  let bytes = 0;
  let oldestMs = Number.POSITIVE_INFINITY;
  let newestMs = Number.NEGATIVE_INFINITY;
  let requests = 0;
  const pageSize = Math.min(
    options.pageSize ?? fs.capabilities.maxListPageSize,
    fs.capabilities.maxListPageSize,
  );
  for await (const page of fs.list(prefix, {
    pageSize,
    ...(options.signal ? { signal: options.signal } : {}),
  })) {
    requests++;
    for (const f of page.files) {
      if (notDataReason(component, f.key, prefix.length) !== undefined) continue;
      files++;
      bytes += f.size;
      if (f.mtimeMs < oldestMs) oldestMs = f.mtimeMs;
      if (f.mtimeMs > newestMs) newestMs = f.mtimeMs;
    }
    options.signal?.throwIfAborted();
  }
  // Gone since the first listing (nothing writes during discovery, but a race must stay deterministic):
  // time 0 makes such a copy lose every conflict.
  if (files === 0) return { files, sizes: { bytes: 0, oldestMs: 0, newestMs: 0 }, requests };
  return { files, sizes: { bytes, oldestMs, newestMs }, requests };
}

/**
 * Reads the sizes and times of one collection's data files in one root — on demand, for a report made
 * at the `names` level (e.g. to show a collection's bytes). One listing of `<collection>/` with sizes:
 * on local disk a `stat` of that collection's files only. Read-only.
 *
 * Resolves to `undefined` when the root holds no data file of the collection.
 * @throws InvalidCollectionIdError for an invalid id; InvalidArgumentError for an unknown component;
 *   the adapter's `FsError` when listing fails.
 *
 * @example
 * const report = await discover({ component: "wal", roots, detail: "names" });
 * const c = report.collections["orders"];
 * const sizes = c && (await collectionSizes(roots[c.index], "wal", c.collection));
 * // { files: 3, bytes: 1048576, oldestMs: 1733000000000, newestMs: 1733000900000 }
 */
export async function collectionSizes(
  fs: FileSystem,
  component: ComponentType,
  collection: string,
  options: { signal?: AbortSignal } = {},
): Promise<(CollectionSizes & { files: number }) | undefined> {
  if (!isComponentType(component))
    throw new InvalidArgumentError(`unknown component ${JSON.stringify(component)}`);
  const id = parseCollectionId(collection);
  options.signal?.throwIfAborted();
  const m = await measureCopy(fs, component, id, options);
  return m.files === 0 ? undefined : { files: m.files, ...m.sizes };
}
