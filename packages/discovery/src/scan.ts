import type { CollectionId, ComponentType, FileEntry, FileSystem } from "@proximadb/core";
import { classifyKey, folderProblem } from "./classify.js";
import type { DiscoveryEvent, IgnoredEntry, IgnoredReason, PlanCosts } from "./types.js";

/** Per-collection figures while a root is being listed. */
export interface CollectionStats {
  files: number;
  bytes: number;
  oldestMs: number;
  newestMs: number;
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

interface ScanContext {
  readonly fs: FileSystem;
  readonly component: ComponentType;
  readonly pageSize: number;
  readonly ignoredLimit: number;
  readonly signal: AbortSignal | undefined;
  readonly emit: (e: DiscoveryEvent) => void;
}

/** Accumulates one root's listing; shared by both plans so they report identically. */
class Accumulator {
  readonly collections = new Map<CollectionId, CollectionStats>();
  readonly ignored: IgnoredEntry[] = [];
  readonly ignoredCounts = zeroCounts();
  readonly skippedFolders = new Set<string>();
  ignoredTruncated = 0;
  requests = 0;
  scanned = 0;
  sawMarker = false;
  #kept = 0;

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

  file(entry: FileEntry): void {
    const c = classifyKey(this.ctx.component, entry.key);
    switch (c.kind) {
      case "marker":
        this.sawMarker = true;
        return;
      case "ignored":
        this.ignore(entry.key, c.reason);
        return;
      case "ignored-folder":
        this.ignoreFolder(c.folder, c.reason);
        return;
      case "data": {
        const s = this.collections.get(c.collection);
        if (s) {
          s.files++;
          s.bytes += entry.size;
          if (entry.mtimeMs < s.oldestMs) s.oldestMs = entry.mtimeMs;
          if (entry.mtimeMs > s.newestMs) s.newestMs = entry.mtimeMs;
        } else {
          this.collections.set(c.collection, {
            files: 1,
            bytes: entry.size,
            oldestMs: entry.mtimeMs,
            newestMs: entry.mtimeMs,
          });
          this.ctx.emit({
            type: "collection-found",
            component: this.ctx.component,
            url: this.ctx.fs.root.url,
            collection: c.collection,
          });
        }
      }
    }
  }

  /** Iterates one listing, counting each page as one LIST request. */
  async *pages(
    prefix: string,
    delimiter: boolean,
  ): AsyncGenerator<{ files: readonly FileEntry[]; prefixes: readonly string[] }> {
    const { fs, pageSize, signal } = this.ctx;
    for await (const page of fs.list(prefix, { delimiter, pageSize, ...(signal ? { signal } : {}) })) {
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
  let total = 0;
  let topFiles = 0;
  const folderKeys = new Map<string, number>();
  for await (const page of acc.pages("", false)) {
    for (const f of page.files) {
      total++;
      const slash = f.key.indexOf("/");
      if (slash < 0) topFiles++;
      else {
        const folder = f.key.slice(0, slash);
        folderKeys.set(folder, (folderKeys.get(folder) ?? 0) + 1);
      }
      acc.file(f);
    }
  }
  let delimiter = pages(topFiles + folderKeys.size, ctx.pageSize);
  for (const [folder, n] of folderKeys) if (!folderProblem(folder)) delimiter += pages(n, ctx.pageSize);
  return acc.result({ flat: pages(total, ctx.pageSize), delimiter, original: 1 + folderKeys.size });
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
  for (const folder of candidates) {
    for await (const page of acc.pages(`${folder}/`, false)) for (const f of page.files) acc.file(f);
  }
  return acc.result({ delimiter: acc.requests, original: 1 + folders });
}
