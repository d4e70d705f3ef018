import {
  DEFAULT_FULL_RATIO,
  DEFAULT_NEARFULL_RATIO,
  type StorageRoot,
  validateCapacityRatios,
} from "@proximadb/core";
import { z } from "zod";

// Roots as tables: `wal_urls = ["file:///a", { url = "file:///b", weight = 2, state = "cordoned" }]`,
// and the `[placement]` table (capacity thresholds). Strings still mean `{ url = "…" }`.

const ratio = z.number().gt(0, "must be > 0").max(1, "must be <= 1");

/** One entry of a component's root list: a URL (read as `{ url = "…" }`), or a table. */
export const rootEntrySchema = z.preprocess(
  (v) => (typeof v === "string" ? { url: v } : v),
  z
    .object({
      url: z.string(),
      weight: z.number().gt(0, "weight must be > 0").max(1e6).default(1),
      state: z.enum(["active", "cordoned"]).default("active"),
      capacity_bytes: z.number().int("capacity_bytes must be a whole number").min(0).optional(),
      nearfull_ratio: ratio.optional(),
      full_ratio: ratio.optional(),
    })
    .strict(),
);

/** A component's root list (`wal_urls`, `data_urls`, …). */
export const rootListSchema = z.array(rootEntrySchema).min(1, "needs at least one storage root");

/** `[placement]`: capacity thresholds for every root (a root's table may override them). */
export const placementSchema = z
  .object({
    nearfull_ratio: ratio.default(DEFAULT_NEARFULL_RATIO),
    full_ratio: ratio.default(DEFAULT_FULL_RATIO),
    /** How often a serving node measures every root's space (0: only at start). */
    check_interval_ms: z.number().int().min(0).default(30_000),
  })
  .strict()
  .default({
    nearfull_ratio: DEFAULT_NEARFULL_RATIO,
    full_ratio: DEFAULT_FULL_RATIO,
    check_interval_ms: 30_000,
  });

/** A raw root entry after the schema. */
export type RootEntry = z.infer<typeof rootEntrySchema>;

/** The validated `[placement]` table. */
export interface PlacementConfig {
  readonly nearfullRatio: number;
  readonly fullRatio: number;
  readonly checkIntervalMs: number;
}

/** One root's placement settings (URL canonical, ratios resolved against `[placement]`). */
export interface RootOptions {
  readonly url: string;
  /** Relative capacity for every strategy (default 1). */
  readonly weight: number;
  /** `cordoned`: keeps its collections, gets no new ones. */
  readonly state: "active" | "cordoned";
  /** A quota for object-store roots (or any root): full when the measured bytes reach `full_ratio` of it. */
  readonly capacityBytes: number | undefined;
  readonly nearfullRatio: number;
  readonly fullRatio: number;
}

/** The URL of every entry, in order. */
export function rootUrls(list: readonly RootEntry[]): string[] {
  return list.map((e) => e.url);
}

/** The validated `[placement]` table. @throws InvalidArgumentError when nearfull_ratio > full_ratio */
export function placementConfig(raw: z.infer<typeof placementSchema>): PlacementConfig {
  validateCapacityRatios({ nearfullRatio: raw.nearfull_ratio, fullRatio: raw.full_ratio }, "placement");
  return {
    nearfullRatio: raw.nearfull_ratio,
    fullRatio: raw.full_ratio,
    checkIntervalMs: raw.check_interval_ms,
  };
}

/**
 * Each entry's settings, beside its parsed root (same order).
 * @throws InvalidArgumentError naming the key path when a root's nearfull_ratio exceeds its full_ratio
 */
export function rootOptions(
  list: readonly RootEntry[],
  roots: readonly StorageRoot[],
  placement: PlacementConfig,
  path: string,
): RootOptions[] {
  return list.map((e, i) => {
    const url = (roots[i] as StorageRoot).url;
    const nearfullRatio = e.nearfull_ratio ?? placement.nearfullRatio;
    const fullRatio = e.full_ratio ?? placement.fullRatio;
    validateCapacityRatios({ nearfullRatio, fullRatio }, `${path}[${i}]`);
    return {
      url,
      weight: e.weight,
      state: e.state,
      capacityBytes: e.capacity_bytes,
      nearfullRatio,
      fullRatio,
    };
  });
}
