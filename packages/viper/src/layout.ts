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
 */

/** Folder, under the collection directory, that holds the data files. */
export const VECTORS_DIR = "vectors";

const DIGITS = 16;
const FLUSH_RE = /^part-(\d{16})\.parquet$/;
const COMPACTED_RE = /^part-(\d{16})-(\d{16})-g(\d{8})-(\d{5})of(\d{5})\.parquet$/;

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
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Name of the file a flush with sequence `seq` commits. */
export function flushFileName(seq: number): string {
  return `part-${pad(seq, DIGITS)}.parquet`;
}

/** Name of part `part` (1-based) of `parts` of a compaction of generation `generation` over `[lo, hi]`. */
export function compactedFileName(
  lo: number,
  hi: number,
  generation: number,
  part: number,
  parts: number,
): string {
  return `part-${pad(lo, DIGITS)}-${pad(hi, DIGITS)}-g${pad(generation, 8)}-${pad(part, 5)}of${pad(parts, 5)}.parquet`;
}

/** Parses a data file name; undefined when it is not one of VIPER's. */
export function parseDataFileName(name: string): Omit<DataFile, "key" | "name" | "size"> | undefined {
  const f = FLUSH_RE.exec(name);
  if (f) {
    const seq = Number(f[1]);
    return { lo: seq, hi: seq, generation: 0, part: 1, parts: 1 };
  }
  const c = COMPACTED_RE.exec(name);
  if (!c) return undefined;
  const [lo, hi, generation, part, parts] = c.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (lo > hi || generation < 1 || part < 1 || part > parts) return undefined;
  return { lo, hi, generation, part, parts };
}

/** Computes the live set from the files under `<collection>/vectors/`. */
export function liveSet(entries: readonly { key: string; size: number }[]): LiveSet {
  const sets = new Map<string, DataFile[]>();
  const foreign: string[] = [];
  let maxSeq = 0;
  let maxGen = 0;
  for (const e of entries) {
    const name = e.key.slice(e.key.lastIndexOf("/") + 1);
    const parsed = parseDataFileName(name);
    if (!parsed) {
      foreign.push(e.key);
      continue;
    }
    const file: DataFile = { key: e.key, name, size: e.size, ...parsed };
    maxSeq = Math.max(maxSeq, file.hi);
    maxGen = Math.max(maxGen, file.generation);
    const id = `${file.lo}:${file.hi}:${file.generation}:${file.parts}`;
    const group = sets.get(id);
    if (group) group.push(file);
    else sets.set(id, [file]);
  }
  const complete: DataFile[][] = [];
  const garbage: DataFile[] = [];
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
      return t.generation > s.generation && t.lo <= s.lo && s.hi <= t.hi;
    });
    (superseded ? garbage : live).push(...files);
  }
  live.sort((a, b) => a.hi - b.hi || a.lo - b.lo || a.part - b.part);
  garbage.sort((a, b) => a.key.localeCompare(b.key));
  return { live, garbage, foreign, nextSequence: maxSeq + 1, nextGeneration: maxGen + 1 };
}
