import type { BackoffSettings } from "@proximadb/core";

export { backoffDelayMs } from "@proximadb/core";

/** Settings of this adapter's own retries (see `GcsFileSystemOptions.retryBaseDelayMs`). */
export interface GcsBackoff extends BackoffSettings {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** No retry starts once this long has passed since the first attempt, in ms. */
  readonly totalTimeoutMs: number;
}
