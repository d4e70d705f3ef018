/**
 * File names and the live set: which data files of a collection are live, derived from the
 * listing alone (no manifest, no metadata file).
 *
 * Every data file covers a range of flush sequence numbers `[lo, hi]` and belongs to a generation:
 * - a flush writes `part-<seq>.parquet`: range `[seq, seq]`, generation 0, one part;
 * - a compaction of generation `g` over the live range `[lo, hi]` writes
 *   `part-<lo>-<hi>-g<g>-<i>of<n>.parquet` for `i = 1..n`.
 *
 * A set (files sharing lo, hi, generation and n) is complete when all `n` parts are present.
 * A complete set is superseded when a complete set of a higher generation covers its range.
 * Live = complete and not superseded. Incomplete sets (a compaction cut short) and superseded
 * sets are garbage: ignored by readers and deleted by the next writer.
 *
 * Fencing (see the README): a writer fenced at epoch `e ≥ 1` puts `-e<epoch, 10 digits>` into its names
 * (`part-<seq>-e<e>.parquet`, `part-<lo>-<hi>-g<g>-e<e>-<i>of<n>.parquet`) and its fence writes the marker
 * `fence-e<e>-<first seq, 16 digits>`. A file of epoch `e` whose range reaches the start of a higher epoch
 * (`hi ≥` its marker, or its lowest flush) was written by a stale owner after the takeover: garbage. A set
 * supersedes another when its (epoch, generation) is higher and it covers the other's range.
 */

import {
  epochCutoffs,
  epochSuffix,
  type EpochStart,
  parseEpochDigits,
  parseFenceMarker,
} from "@proximadb/engine";

/** Folder, under the collection directory, that holds the data files. */
export const VECTORS_DIR = "vectors";

const DIGITS = 16;
const FLUSH_RE = /^part-(\d{16})(?:-e(\d{10}))?\.parquet$/;
const COMPACTED_RE = /^part-(\d{16})-(\d{16})-g(\d{8})(?:-e(\d{10}))?-(\d{5})of(\d{5})\.parquet$/;

/** One data file, parsed from its name. */
export interface DataFile {
  /** Root-relative key. */
  readonly key: string;
  /** File name (last key segment). */
  readonly name: string;
  readonly size: number;
  /** First flush sequence the file covers. */
  readonly lo: number;
  /** Last flush sequence the file covers. */
  readonly hi: number;
  /** 0 for flush output, ≥ 1 for compaction output. */
  readonly generation: number;
  /** 1-based part number within its set. */
  readonly part: number;
  /** Number of parts in its set. */
  readonly parts: number;
  /** The writer epoch in its name; absent for names without one (epoch 0, an unfenced writer). */
  readonly epoch?: number;
}

/** What a listing says about a collection's data files. */
export interface LiveSet {
  /** Live files, oldest range first, then by part. */
  readonly live: DataFile[];
  /** Superseded or incomplete files: never read, safe to delete by the collection's writer. */
  readonly garbage: DataFile[];
  /** Keys under `vectors/` that are not VIPER data files (left alone). */
  readonly foreign: string[];
  /** The next flush sequence (one past the highest sequence any file name mentions). */
  readonly nextSequence: number;
  /** The next compaction generation. */
  readonly nextGeneration: number;
  /** The highest writer epoch the names show (0: none fenced). */
  readonly epoch: number;
  /** The fence markers (where each epoch starts), as parsed. */
  readonly fences: readonly EpochStart[];
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Name of the file a flush with sequence `seq` commits at writer epoch `epoch` (default 0). */
export function flushFileName(seq: number, epoch = 0): string {
  return `part-${pad(seq, DIGITS)}${epochSuffix(epoch)}.parquet`;
}

/** Name of the marker a fence at `epoch` writes: the epoch's flushes start at `first`. */
export function fenceMarkerFileName(epoch: number, first: number): string {
  return `fence-e${pad(epoch, 10)}-${pad(first, DIGITS)}`;
}

/** Name of part `part` (1-based) of `parts` of a compaction of generation `generation` over `[lo, hi]`. */
export function compactedFileName(
  lo: number,
  hi: number,
  generation: number,
  part: number,
  parts: number,
  epoch = 0,
): string {
  return `part-${pad(lo, DIGITS)}-${pad(hi, DIGITS)}-g${pad(generation, 8)}${epochSuffix(epoch)}-${pad(part, 5)}of${pad(parts, 5)}.parquet`;
}

/** Parses a data file name; undefined when it is not one of VIPER's. */
export function parseDataFileName(name: string): Omit<DataFile, "key" | "name" | "size"> | undefined {
  const f = FLUSH_RE.exec(name);
  if (f) {
    const seq = Number(f[1]);
    const epoch = parseEpochDigits(f[2]);
    if (Number.isNaN(epoch)) return undefined;
    return { lo: seq, hi: seq, generation: 0, part: 1, parts: 1, ...(epoch > 0 ? { epoch } : {}) };
  }
  const c = COMPACTED_RE.exec(name);
  if (!c) return undefined;
  const [lo, hi, generation, part, parts] = [c[1], c[2], c[3], c[5], c[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const epoch = parseEpochDigits(c[4]);
  if (lo > hi || generation < 1 || part < 1 || part > parts || Number.isNaN(epoch)) return undefined;
  return { lo, hi, generation, part, parts, ...(epoch > 0 ? { epoch } : {}) };
}

/** The writer epoch of a data file (0 for names without one). */
export function epochOfFile(f: { readonly epoch?: number }): number {
  return f.epoch ?? 0;
}

/** Computes the live set from the files under `<collection>/vectors/`. */
export function liveSet(entries: readonly { key: string; size: number }[]): LiveSet {
  const sets = new Map<string, DataFile[]>();
  const foreign: string[] = [];
  const fences: EpochStart[] = [];
  const starts: EpochStart[] = [];
  let maxSeq = 0;
  let maxGen = 0;
  let maxEpoch = 0;
  const files: DataFile[] = [];
  for (const e of entries) {
    const name = e.key.slice(e.key.lastIndexOf("/") + 1);
    const parsed = parseDataFileName(name);
    if (!parsed) {
      const fence = parseFenceMarker("", name);
      if (fence) {
        fences.push(fence);
        starts.push(fence);
        maxSeq = Math.max(maxSeq, fence.first - 1);
        maxEpoch = Math.max(maxEpoch, fence.epoch);
      } else foreign.push(e.key);
      continue;
    }
    const file: DataFile = { key: e.key, name, size: e.size, ...parsed };
    maxSeq = Math.max(maxSeq, file.hi);
    maxGen = Math.max(maxGen, file.generation);
    maxEpoch = Math.max(maxEpoch, epochOfFile(file));
    if (file.generation === 0) starts.push({ epoch: epochOfFile(file), first: file.lo });
    files.push(file);
  }
  const cutoff = epochCutoffs(starts);
  const stale: DataFile[] = [];
  for (const file of files) {
    // Written by a stale owner after a higher epoch started: never read.
    if (file.hi >= cutoff(epochOfFile(file))) {
      stale.push(file);
      continue;
    }
    const id = `${file.lo}:${file.hi}:${file.generation}:${epochOfFile(file)}:${file.parts}`;
    const group = sets.get(id);
    if (group) group.push(file);
    else sets.set(id, [file]);
  }
  const complete: DataFile[][] = [];
  const garbage: DataFile[] = [...stale];
  for (const files of sets.values()) {
    const parts = new Set(files.map((f) => f.part));
    const n = (files[0] as DataFile).parts;
    if (parts.size === n) complete.push(files);
    else garbage.push(...files);
  }
  const live: DataFile[] = [];
  for (const files of complete) {
    const s = files[0] as DataFile;
    const superseded = complete.some((other) => {
      const t = other[0] as DataFile;
      const newer =
        epochOfFile(t) > epochOfFile(s) || (epochOfFile(t) === epochOfFile(s) && t.generation > s.generation);
      return newer && t !== s && t.lo <= s.lo && s.hi <= t.hi;
    });
    (superseded ? garbage : live).push(...files);
  }
  live.sort((a, b) => a.hi - b.hi || a.lo - b.lo || a.part - b.part);
  garbage.sort((a, b) => a.key.localeCompare(b.key));
  return {
    live,
    garbage,
    foreign,
    nextSequence: maxSeq + 1,
    nextGeneration: maxGen + 1,
    epoch: maxEpoch,
    fences,
  };
}
