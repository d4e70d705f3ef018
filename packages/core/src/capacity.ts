import { InvalidArgumentError } from "./errors.js";

/**
 * How full a root is, for placement.
 * - `ok`: below `nearfullRatio`.
 * - `nearfull`: at or above `nearfullRatio` (a warning: log line, metric, `stats`); still takes collections.
 * - `full`: at or above `fullRatio`; gets no new collections (its own keep writing until the device says no).
 */
export type CapacityState = "ok" | "nearfull" | "full";

/** Default `nearfull_ratio` (as Ceph's `mon_osd_nearfull_ratio`). */
export const DEFAULT_NEARFULL_RATIO = 0.85;
/** Default `full_ratio` (as Ceph's `mon_osd_full_ratio`). */
export const DEFAULT_FULL_RATIO = 0.95;

/** The two thresholds of {@link capacityState}. */
export interface CapacityRatios {
  readonly nearfullRatio: number;
  readonly fullRatio: number;
}

/** What the node measured of one root's space. */
export interface RootCapacity {
  /** Bytes in use: the device's used bytes (`statfs`), or the bytes the node measured (quota roots). */
  readonly usedBytes: number;
  /** Size of the device or the configured `capacity_bytes` quota. */
  readonly totalBytes: number;
  /** `statfs` (a local device) or `quota` (`capacity_bytes` against measured bytes). */
  readonly source: "statfs" | "quota";
  /** `usedBytes / totalBytes` (1 when `totalBytes` is 0). */
  readonly ratio: number;
  readonly state: CapacityState;
  readonly nearfullRatio: number;
  readonly fullRatio: number;
}

/**
 * Checks a pair of ratios: each in (0, 1], `nearfullRatio <= fullRatio`.
 * @throws InvalidArgumentError naming the bad value
 */
export function validateCapacityRatios(ratios: CapacityRatios, where = "placement"): CapacityRatios {
  for (const [name, v] of [
    ["nearfull_ratio", ratios.nearfullRatio],
    ["full_ratio", ratios.fullRatio],
  ] as const) {
    if (!(typeof v === "number" && v > 0 && v <= 1))
      throw new InvalidArgumentError(`${where}.${name} must be a number in (0, 1] (got ${String(v)})`);
  }
  if (ratios.nearfullRatio > ratios.fullRatio)
    throw new InvalidArgumentError(
      `${where}.nearfull_ratio (${ratios.nearfullRatio}) must not exceed full_ratio (${ratios.fullRatio})`,
    );
  return ratios;
}

/**
 * The capacity figures of a root from its used and total bytes.
 * @example
 * measureCapacity(90, 100, "quota", { nearfullRatio: 0.85, fullRatio: 0.95 }).state // "nearfull"
 * @throws InvalidArgumentError for negative or non-finite byte counts
 */
export function measureCapacity(
  usedBytes: number,
  totalBytes: number,
  source: RootCapacity["source"],
  ratios: CapacityRatios = { nearfullRatio: DEFAULT_NEARFULL_RATIO, fullRatio: DEFAULT_FULL_RATIO },
): RootCapacity {
  if (!(Number.isFinite(usedBytes) && usedBytes >= 0))
    throw new InvalidArgumentError(`usedBytes must be a finite number >= 0 (got ${usedBytes})`);
  if (!(Number.isFinite(totalBytes) && totalBytes >= 0))
    throw new InvalidArgumentError(`totalBytes must be a finite number >= 0 (got ${totalBytes})`);
  const ratio = totalBytes === 0 ? 1 : usedBytes / totalBytes;
  const state: CapacityState =
    ratio >= ratios.fullRatio ? "full" : ratio >= ratios.nearfullRatio ? "nearfull" : "ok";
  return {
    usedBytes,
    totalBytes,
    source,
    ratio,
    state,
    nearfullRatio: ratios.nearfullRatio,
    fullRatio: ratios.fullRatio,
  };
}
