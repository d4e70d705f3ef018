import { z } from "zod";

/**
 * Backoff of a cloud adapter's retries, in ms: the first retry's delay (grown per retry) and the cap of
 * any delay. Unset: the adapter's defaults (100 ms and 2 s; see each adapter's README).
 */
const RETRY_DELAYS = {
  retry_base_delay_ms: z.number().int().min(0).max(60_000).optional(),
  max_retry_delay_ms: z.number().int().min(0).max(120_000).optional(),
};

/** The TOML `[backends]` table: per-cloud endpoint, region and retry settings (never credentials). */
export const BACKENDS_TABLE = z
  .object({
    s3: z
      .object({
        endpoint: z.url().optional(),
        region: z.string().min(1).default("us-east-1"),
        force_path_style: z.boolean().default(false),
        max_attempts: z.number().int().min(1).max(20).default(8),
        ...RETRY_DELAYS,
      })
      .strict()
      .optional(),
    azure: z
      .object({
        endpoint: z.url().optional(),
        max_tries: z.number().int().min(1).max(20).default(8),
        ...RETRY_DELAYS,
      })
      .strict()
      .optional(),
    gcs: z
      .object({
        project_id: z.string().min(1).optional(),
        endpoint: z.url().optional(),
        max_retries: z.number().int().min(0).max(20).default(7),
        ...RETRY_DELAYS,
      })
      .strict()
      .optional(),
  })
  .strict()
  .default({});
