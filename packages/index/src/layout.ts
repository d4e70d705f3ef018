/**
 * File names and the live pair: which index files of a collection are live, derived from the listing
 * alone (no manifest).
 *
 * Every save writes one generation `g` as two files directly under `<id>/`:
 * - `index-<g>.hnsw`: the HNSW graph (the library's own file format), committed FIRST;
 * - `index-<g>.idx`: the id map (string id ↔ numeric label, tombstones, settings, covered sequence, and the
 *   size and CRC-32 of its `.hnsw`), committed SECOND: the commit point of the generation.
 *
 * Live = the highest generation with both files present. Everything else named like an index file (older
 * generations, a `.hnsw` whose `.idx` never landed, an `.idx` left alone by an interrupted clean-up) is
 * garbage: never read, deleted by the collection's next save.
 */

const DIGITS = 16;
const FILE_RE = /^index-(\d{16})\.(hnsw|idx)$/;

/** One index file, parsed from its key. */
export interface IndexFile {
  /** Root-relative key. */
  readonly key: string;
  readonly size: number;
  readonly generation: number;
  readonly kind: "hnsw" | "idx";
}

/** What a listing of `<id>/` says about a collection's index files. */
export interface IndexFiles {
  /** The live pair, or undefined when the collection has no complete generation. */
  readonly live:
    | { readonly generation: number; readonly hnsw: IndexFile; readonly idx: IndexFile }
    | undefined;
  /** Index files that are not the live pair, in deletion order: every `.idx` before any `.hnsw`. */
  readonly garbage: readonly IndexFile[];
  /** One past the highest generation any index file name mentions (never reuses a name). */
  readonly nextGeneration: number;
}

/** Name of generation `generation`'s file of `kind`. */
export function indexFileName(generation: number, kind: "hnsw" | "idx"): string {
  return `index-${String(generation).padStart(DIGITS, "0")}.${kind}`;
}

/** Parses an index file name (last key segment); undefined when it is not one. */
export function parseIndexFileName(name: string): { generation: number; kind: "hnsw" | "idx" } | undefined {
  const m = FILE_RE.exec(name);
  if (!m) return undefined;
  const generation = Number(m[1]);
  if (!Number.isSafeInteger(generation) || generation < 1) return undefined;
  return { generation, kind: m[2] as "hnsw" | "idx" };
}

/**
 * Computes the live pair from the files directly under `<collection>/` (`dir`, ending with `/`).
 * Keys in sub-folders (`_staging/`, …) and other names are not index files and are ignored.
 */
export function indexFiles(dir: string, entries: readonly { key: string; size: number }[]): IndexFiles {
  const byGeneration = new Map<number, { hnsw?: IndexFile; idx?: IndexFile }>();
  let max = 0;
  for (const e of entries) {
    if (!e.key.startsWith(dir)) continue;
    const name = e.key.slice(dir.length);
    if (name.includes("/")) continue;
    const parsed = parseIndexFileName(name);
    if (!parsed) continue;
    const file: IndexFile = { key: e.key, size: e.size, ...parsed };
    const pair = byGeneration.get(parsed.generation) ?? {};
    pair[parsed.kind] = file;
    byGeneration.set(parsed.generation, pair);
    max = Math.max(max, parsed.generation);
  }
  let live: IndexFiles["live"];
  for (const [generation, pair] of byGeneration) {
    if (pair.hnsw && pair.idx && (live === undefined || generation > live.generation)) {
      live = { generation, hnsw: pair.hnsw, idx: pair.idx };
    }
  }
  const garbage: IndexFile[] = [];
  for (const [generation, pair] of [...byGeneration].sort((a, b) => a[0] - b[0])) {
    if (generation === live?.generation) continue;
    if (pair.idx) garbage.push(pair.idx);
  }
  for (const [generation, pair] of [...byGeneration].sort((a, b) => a[0] - b[0])) {
    if (generation === live?.generation) continue;
    if (pair.hnsw) garbage.push(pair.hnsw);
  }
  return { live, garbage, nextGeneration: max + 1 };
}
