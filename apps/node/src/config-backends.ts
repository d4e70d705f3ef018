import { z } from "zod";

/** The TOML `[backends]` table: per-cloud endpoint, region and retry settings (never credentials). */
export const BACKENDS_TABLE = z
  .object({
    s3: z
      .object({
        endpoint: z.url().optional(),
        region: z.string().min(1).default("us-east-1"),
        force_path_style: z.boolean().default(false),
        max_attempts: z.number().int().min(1).max(20).default(5),
      })
      .strict()
      .optional(),
    azure: z
      .object({
        endpoint: z.url().optional(),
        max_tries: z.number().int().min(1).max(20).default(5),
      })
      .strict()
      .optional(),
    gcs: z
      .object({
        project_id: z.string().min(1).optional(),
        endpoint: z.url().optional(),
        max_retries: z.number().int().min(0).max(20).default(5),
      })
      .strict()
      .optional(),
  })
  .strict()
  .default({});
