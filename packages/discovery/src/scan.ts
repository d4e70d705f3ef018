import {
  type CollectionId,
  type ComponentType,
  type FileEntry,
  type FileSystem,
  type ListOptions,
  ROOT_MARKER_FILE,
} from "@proximadb/core";
import { folderProblem, notDataReason } from "./classify.js";
import { markerVersionOf } from "./deployment/keys.js";
import type { DiscoveryDetail, DiscoveryEvent, IgnoredEntry, IgnoredReason, PlanCosts } from "./types.js";

/** Per-collection figures while a root is being listed. */
export interface CollectionStats {
  files: number;
  /** Meaningful only when `sized`. */
  bytes: number;
  oldestMs: number;
  newestMs: number;
  /** Every data file's size and time came with the listing (always at the `sizes` level). */
  sized: boolean;
}

/** Every ignored reason with a zero count. */
export function zeroCounts(): Record<IgnoredReason, number> {
  return { staging: 0, reserved: 0, temp: 0, "not-data": 0, "invalid-collection-id": 0, "top-level-file": 0 };
}

/** The outcome of listing one root. */
export interface RootScan {
  collections: Map<CollectionId, CollectionStats>;
  ignored: IgnoredEntry[];
  ignoredCounts: Record<IgnoredReason, number>;
  ignoredTruncated: number;
  requests: number;
  costs: PlanCosts;
  /** Whether the listing showed the marker file (flat plan, or the top level of the delimiter plan). */
  sawMarker: boolean;
}

export interface ScanContext {
  readonly fs: FileSystem;
  readonly component: ComponentType;
  readonly detail: DiscoveryDetail;
  readonly pageSize: number;
  readonly ignoredLimit: number;
  readonly signal: AbortSignal | undefined;
  readonly emit: (e: DiscoveryEvent) => void;
}

/** A top-level folder met in the listing. */
interface Folder {
  readonly name: string;
  /** Why it can never be a collection, or `undefined` for a candidate. */
  readonly problem: IgnoredReason | undefined;
  /** Keys listed under it. */
  keys: number;
  stats: CollectionStats | undefined;
}

/** `fs.list` options with the level's `sizes` flag (fs-local's names-only listing; other adapters ignore it). */
export function listOptions(ctx: ScanContext, delimiter: boolean): ListOptions & { sizes?: boolean } {
  return {
    delimiter,
    pageSize: ctx.pageSize,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.detail === "names" ? { sizes: false } : {}),
  };
}

/** Accumulates one root's listing; shared by both plans so they report identically. */
class Accumulator {
  readonly collections = new Map<CollectionId, CollectionStats>();
  readonly ignored: IgnoredEntry[] = [];
  readonly ignoredCounts = zeroCounts();
  readonly skippedFolders = new Set<string>();
  readonly folders = new Map<string, Folder>();
  ignoredTruncated = 0;
  requests = 0;
  scanned = 0;
  /** Files listed, and of those at the top level. */
  total = 0;
  topFiles = 0;
  sawMarker = false;
  #kept = 0;
  /** The folder of the previous key: listings are sorted, so most keys share it. */
  #last: Folder | undefined;

  constructor(readonly ctx: ScanContext) {}

  ignore(key: string, reason: IgnoredReason): void {
    this.ignoredCounts[reason]++;
    // Staging entries are always kept: the engine deletes stale staging from them without a new listing.
    if (reason !== "staging") {
      if (this.#kept >= this.ctx.ignoredLimit) {
        this.ignoredTruncated++;
        return;
      }
      this.#kept++;
    }
    this.ignored.push({ url: this.ctx.fs.root.url, key, reason });
  }

  ignoreFolder(folder: string, reason: IgnoredReason): void {
    if (this.skippedFolders.has(folder)) return;
    this.skippedFolders.add(folder);
    this.ignore(`${folder}/`, reason);
  }

  #folderOf(key: string): Folder | undefined {
    const last = this.#last;
    if (last && key.charCodeAt(last.name.length) === 47 && key.startsWith(last.name)) return last;
    const slash = key.indexOf("/");
    if (slash < 0) return undefined;
    const name = key.slice(0, slash);
    let folder = this.folders.get(name);
    if (!folder) {
      folder = { name, problem: folderProblem(name), keys: 0, stats: undefined };
      this.folders.set(name, folder);
    }
    this.#last = folder;
    return folder;
  }

  file(entry: FileEntry): void {
    const key = entry.key;
    this.total++;
    const folder = this.#folderOf(key);
    if (!folder) {
      this.topFiles++;
      if (key === ROOT_MARKER_FILE) this.sawMarker = true;
      else if (markerVersionOf(key) === undefined) this.ignore(key, "top-level-file");
      return;
    }
    folder.keys++;
    if (folder.problem) {
      this.ignoreFolder(folder.name, folder.problem);
      return;
    }
    const reason = notDataReason(this.ctx.component, key, folder.name.length + 1);
    if (reason) {
      this.ignore(key, reason);
      return;
    }
    let s = folder.stats;
    if (!s) {
      s = {
        files: 0,
        bytes: 0,
        oldestMs: Number.POSITIVE_INFINITY,
        newestMs: Number.NEGATIVE_INFINITY,
        sized: true,
      };
      folder.stats = s;
      const collection = folder.name as CollectionId;
      this.collections.set(collection, s);
      this.ctx.emit({
        type: "collection-found",
        component: this.ctx.component,
        url: this.ctx.fs.root.url,
        collection,
      });
    }
    s.files++;
    const { size, mtimeMs } = entry;
    // A names-only listing leaves both NaN.
    if (Number.isNaN(size) || Number.isNaN(mtimeMs)) s.sized = false;
    else {
      s.bytes += size;
      if (mtimeMs < s.oldestMs) s.oldestMs = mtimeMs;
      if (mtimeMs > s.newestMs) s.newestMs = mtimeMs;
    }
  }

  /** Iterates one listing, counting each page as one LIST request. */
  async *pages(
    prefix: string,
    delimiter: boolean,
  ): AsyncGenerator<{ files: readonly FileEntry[]; prefixes: readonly string[] }> {
    const { fs, signal } = this.ctx;
    for await (const page of fs.list(prefix, listOptions(this.ctx, delimiter))) {
      this.requests++;
      yield page;
      this.scanned += page.files.length;
      this.ctx.emit({
        type: "files-scanned",
        component: this.ctx.component,
        url: fs.root.url,
        count: this.scanned,
      });
      signal?.throwIfAborted();
    }
  }

  result(costs: PlanCosts): RootScan {
    return {
      collections: this.collections,
      ignored: this.ignored,
      ignoredCounts: this.ignoredCounts,
      ignoredTruncated: this.ignoredTruncated,
      requests: this.requests,
      costs,
      sawMarker: this.sawMarker,
    };
  }
}

/** LIST pages for `keys` keys: an empty listing still costs one request on object stores, none on disk. */
const pagesFor = (fs: FileSystem) => (keys: number, pageSize: number) =>
  Math.max(fs.capabilities.remote ? 1 : 0, Math.ceil(keys / pageSize));

/**
 * Flat plan: one paginated listing of the whole root. Afterwards every key is known, so the cost
 * of the delimiter plan and of the original design can be computed exactly.
 */
export async function scanFlat(ctx: ScanContext): Promise<RootScan> {
  const acc = new Accumulator(ctx);
  const pages = pagesFor(ctx.fs);
  for await (const page of acc.pages("", false)) for (const f of page.files) acc.file(f);
  let delimiter = pages(acc.topFiles + acc.folders.size, ctx.pageSize);
  for (const f of acc.folders.values()) if (!f.problem) delimiter += pages(f.keys, ctx.pageSize);
  return acc.result({ flat: pages(acc.total, ctx.pageSize), delimiter, original: 1 + acc.folders.size });
}

/**
 * Delimiter plan: one listing of the top level (files and folder prefixes), then one listing per
 * folder whose name can be a collection. Reserved and invalid folders are never descended.
 */
export async function scanDelimiter(ctx: ScanContext): Promise<RootScan> {
  const acc = new Accumulator(ctx);
  const candidates: string[] = [];
  let folders = 0;
  for await (const page of acc.pages("", true)) {
    for (const f of page.files) acc.file(f);
    for (const p of page.prefixes) {
      folders++;
      const folder = p.endsWith("/") ? p.slice(0, -1) : p;
      const problem = folderProblem(folder);
      if (problem) acc.ignoreFolder(folder, problem);
      else candidates.push(folder);
    }
  }
  // The candidates are listed at once (bounded): one LIST round trip after another would make a start-up
  // over thousands of collections wait for each. Their pages are counted in the order they come in, and
  // their files handed to the accumulator in candidate order, so the report does not depend on timing.
  const listed = candidates.map(() => {
    let resolve!: (files: readonly FileEntry[][]) => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<readonly FileEntry[][]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined); // awaited below, in order; a failure there fails the listing
    return { promise, resolve, reject };
  });
  let next = 0;
  let stop = false;
  const worker = async () => {
    while (!stop && next < candidates.length) {
      const i = next++;
      const slot = listed[i] as (typeof listed)[number];
      const pages: FileEntry[][] = [];
      try {
        for await (const page of acc.pages(`${candidates[i]}/`, false)) pages.push([...page.files]);
        slot.resolve(pages);
      } catch (err) {
        stop = true;
        slot.reject(err);
      }
    }
  };
  const workers = Promise.all(Array.from({ length: Math.min(FOLDER_LISTINGS, candidates.length) }, worker));
  try {
    for (const slot of listed) for (const files of await slot.promise) for (const f of files) acc.file(f);
  } finally {
    stop = true;
    await workers;
  }
  return acc.result({ delimiter: acc.requests, original: 1 + folders });
}

/** Collection folders listed at once by the delimiter plan, per root. */
export const FOLDER_LISTINGS = 16;
