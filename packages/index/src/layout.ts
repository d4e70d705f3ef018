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
 *
 * Fencing (see the README): a writer fenced at epoch `e ≥ 1` names its files `index-<g>-e<e, 10 digits>.*`
 * and its fence writes the marker `index-fence-e<e>-<first generation, 16 digits>`. A generation of epoch
 * `e` at or past the start of a higher epoch is a stale owner's save after the takeover: garbage. Live =
 * the complete pair with the highest (epoch, generation) among the others.
 */

import {
  type EpochStart,
  epochCutoffs,
  epochSuffix,
  fenceMarkerName,
  parseEpochDigits,
  parseFenceMarker,
} from "@proximadb/engine";

const DIGITS = 16;
const FILE_RE = /^index-(\d{16})(?:-e(\d{10}))?\.(hnsw|idx)$/;

/** One index file, parsed from its key. */
export interface IndexFile {
  /** Root-relative key. */
  readonly key: string;
  readonly size: number;
  readonly generation: number;
  readonly kind: "hnsw" | "idx";
  /** The writer epoch in its name; absent for names without one (epoch 0). */
  readonly epoch?: number;
}

/** What a listing of `<id>/` says about a collection's index files. */
export interface IndexFiles {
  /** The live pair, or undefined when the collection has no complete generation. */
  readonly live:
    | { readonly generation: number; readonly hnsw: IndexFile; readonly idx: IndexFile }
    | undefined;
  /** Index files that are not the live pair, in deletion order: every `.idx` before any `.hnsw`. */
  readonly garbage: readonly IndexFile[];
  /** One past the highest generation any index file name (or fence marker) mentions (never reuses a name). */
  readonly nextGeneration: number;
  /** The highest writer epoch the names show (0: none). */
  readonly epoch: number;
}

/** Name of generation `generation`'s file of `kind`, written at writer epoch `epoch` (default 0). */
export function indexFileName(generation: number, kind: "hnsw" | "idx", epoch = 0): string {
  return `index-${String(generation).padStart(DIGITS, "0")}${epochSuffix(epoch)}.${kind}`;
}

/** Name of the marker a fence at `epoch` writes: the epoch's generations start at `first`. */
export function indexFenceMarkerName(epoch: number, first: number): string {
  return fenceMarkerName("index-", epoch, first, DIGITS);
}

/** Parses an index file name (last key segment); undefined when it is not one. */
export function parseIndexFileName(
  name: string,
): { generation: number; kind: "hnsw" | "idx"; epoch?: number } | undefined {
  const m = FILE_RE.exec(name);
  if (!m) return undefined;
  const generation = Number(m[1]);
  const epoch = parseEpochDigits(m[2]);
  if (!Number.isSafeInteger(generation) || generation < 1 || Number.isNaN(epoch)) return undefined;
  return { generation, kind: m[3] as "hnsw" | "idx", ...(epoch > 0 ? { epoch } : {}) };
}

/**
 * Computes the live pair from the files directly under `<collection>/` (`dir`, ending with `/`).
 * Keys in sub-folders (`_staging/`, …) and other names are not index files and are ignored.
 */
export function indexFiles(dir: string, entries: readonly { key: string; size: number }[]): IndexFiles {
  const pairs = new Map<string, { generation: number; epoch: number; hnsw?: IndexFile; idx?: IndexFile }>();
  const starts: EpochStart[] = [];
  let max = 0;
  let maxEpoch = 0;
  for (const e of entries) {
    if (!e.key.startsWith(dir)) continue;
    const name = e.key.slice(dir.length);
    if (name.includes("/")) continue;
    const parsed = parseIndexFileName(name);
    if (!parsed) {
      const fence = parseFenceMarker("index-", name);
      if (fence) {
        starts.push(fence);
        max = Math.max(max, fence.first - 1);
        maxEpoch = Math.max(maxEpoch, fence.epoch);
      }
      continue;
    }
    const file: IndexFile = { key: e.key, size: e.size, ...parsed };
    const epoch = parsed.epoch ?? 0;
    const id = `${parsed.generation}:${epoch}`;
    const pair = pairs.get(id) ?? { generation: parsed.generation, epoch };
    pair[parsed.kind] = file;
    pairs.set(id, pair);
    starts.push({ epoch, first: parsed.generation });
    max = Math.max(max, parsed.generation);
    maxEpoch = Math.max(maxEpoch, epoch);
  }
  // Fencing: a generation of epoch e at or past the start of a higher epoch is a stale owner's.
  const cutoff = epochCutoffs(starts);
  let live: (IndexFiles["live"] & { epoch: number }) | undefined;
  for (const pair of pairs.values()) {
    if (!pair.hnsw || !pair.idx || pair.generation >= cutoff(pair.epoch)) continue;
    const newer =
      live === undefined ||
      pair.epoch > live.epoch ||
      (pair.epoch === live.epoch && pair.generation > live.generation);
    if (newer) live = { generation: pair.generation, epoch: pair.epoch, hnsw: pair.hnsw, idx: pair.idx };
  }
  const rest = [...pairs.values()]
    .filter((p) => p.hnsw !== live?.hnsw || p.idx !== live?.idx)
    .sort((a, b) => a.epoch - b.epoch || a.generation - b.generation);
  const garbage: IndexFile[] = [];
  for (const pair of rest) if (pair.idx) garbage.push(pair.idx);
  for (const pair of rest) if (pair.hnsw) garbage.push(pair.hnsw);
  const result = live && { generation: live.generation, hnsw: live.hnsw, idx: live.idx };
  return { live: result, garbage, nextGeneration: max + 1, epoch: maxEpoch };
}
