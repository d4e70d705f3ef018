import { InvalidArgumentError } from "@proximadb/core";

/**
 * Writer epochs (fencing, see the README's "Fencing"): every file an engine writes for a collection carries
 * the epoch its writer was fenced at, and a durable marker records where (at which sequence, file number or
 * generation) each epoch starts. Whatever an epoch `e` wrote at or past the start of a higher epoch was
 * written by a stale owner after the takeover and is never read.
 */

/** Digits of the zero-padded epoch in file names. */
export const EPOCH_DIGITS = 10;

/**
 * Checks a writer epoch given to `fence`: a positive safe integer.
 * @throws InvalidArgumentError otherwise
 */
export function assertEpoch(epoch: unknown): number {
  if (typeof epoch !== "number" || !Number.isSafeInteger(epoch) || epoch < 1) {
    throw new InvalidArgumentError(`epoch must be a positive safe integer (got ${String(epoch)})`);
  }
  return epoch;
}

/** The name suffix of epoch `epoch`: `""` for 0 (the names of unfenced writers), `-e<10 digits>` otherwise. */
export function epochSuffix(epoch: number): string {
  return epoch === 0 ? "" : `-e${String(epoch).padStart(EPOCH_DIGITS, "0")}`;
}

/** Parses the digits of an `-e<digits>` suffix (`undefined`: no suffix, epoch 0); NaN for a bad number. */
export function parseEpochDigits(digits: string | undefined): number {
  if (digits === undefined) return 0;
  const n = Number(digits);
  return Number.isSafeInteger(n) && n >= 1 ? n : Number.NaN;
}

/** Where an epoch starts: its marker, or its lowest file. */
export interface EpochStart {
  readonly epoch: number;
  /** The first position (sequence, file number, generation) written at this epoch. */
  readonly first: number;
}

/**
 * The cut-off of every epoch: `cutoff(e)` is the lowest start of any epoch above `e` (Infinity when none).
 * A file or record of epoch `e` at a position ≥ `cutoff(e)` is stale.
 */
export function epochCutoffs(starts: Iterable<EpochStart>): (epoch: number) => number {
  const byEpoch = new Map<number, number>();
  for (const s of starts) byEpoch.set(s.epoch, Math.min(byEpoch.get(s.epoch) ?? Infinity, s.first));
  const sorted = [...byEpoch].sort((a, b) => b[0] - a[0]); // highest epoch first
  const cut = new Map<number, number>();
  let min = Infinity;
  for (const [epoch, first] of sorted) {
    cut.set(epoch, min);
    min = Math.min(min, first);
  }
  return (epoch) => {
    const known = cut.get(epoch);
    if (known !== undefined) return known;
    let m = Infinity;
    for (const [e, first] of sorted) if (e > epoch) m = Math.min(m, first);
    return m;
  };
}

/** The highest epoch among `starts` (0 when none). */
export function highestEpoch(starts: Iterable<EpochStart>): number {
  let max = 0;
  for (const s of starts) max = Math.max(max, s.epoch);
  return max;
}

/** Name of the fence marker `<prefix>fence-e<epoch>-<first, `digits` digits>`. */
export function fenceMarkerName(prefix: string, epoch: number, first: number, digits: number): string {
  return `${prefix}fence-e${String(epoch).padStart(EPOCH_DIGITS, "0")}-${String(first).padStart(digits, "0")}`;
}

/** Parses a fence marker name made by {@link fenceMarkerName} with the same prefix. */
export function parseFenceMarker(prefix: string, name: string): EpochStart | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^fence-e(\d{10})-(\d{1,20})$/.exec(name.slice(prefix.length));
  if (!m) return undefined;
  const epoch = parseEpochDigits(m[1]);
  const first = Number(m[2]);
  if (Number.isNaN(epoch) || !Number.isSafeInteger(first)) return undefined;
  return { epoch, first };
}
