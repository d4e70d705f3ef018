import { z } from "zod";

/** The TOML `[moves]` table: bandwidth of all moves together and how many run at once. */
export const MOVES_TABLE = z
  .object({
    max_bytes_per_second: z.number().min(0).default(0),
    max_concurrent: z.number().int().min(1).max(64).default(2),
  })
  .strict()
  .default({ max_bytes_per_second: 0, max_concurrent: 2 });

/** `[moves]`, validated. */
export interface MovesConfig {
  /** Bytes per second of all moves together (0: unlimited). */
  readonly maxBytesPerSecond: number;
  /** Moves running at once. */
  readonly maxConcurrent: number;
}

/** Builds {@link MovesConfig} from the checked table. */
export function movesConfig(raw: z.infer<typeof MOVES_TABLE>): MovesConfig {
  return { maxBytesPerSecond: raw.max_bytes_per_second, maxConcurrent: raw.max_concurrent };
}
