/** Settings of this adapter's own retries (see `GcsFileSystemOptions.retryBaseDelayMs`). */
export interface GcsBackoff {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** Cap of the first retry's delay in ms, doubled per retry. */
  readonly baseDelayMs: number;
  /** Cap of any backoff delay in ms. */
  readonly maxDelayMs: number;
  /** The longest `Retry-After` honoured, in ms. */
  readonly maxRetryAfterMs: number;
  /** No retry starts once this long has passed since the first attempt, in ms. */
  readonly totalTimeoutMs: number;
}

/**
 * Delay before retry number `retry + 1` (0-based `retry`): uniform in `0..min(maxDelayMs, baseDelayMs ×
 * 2^retry)` (full jitter), or the server's `Retry-After` (capped at `maxRetryAfterMs`) when that is longer.
 */
export function backoffDelayMs(
  retry: number,
  retryAfterMs: number | undefined,
  b: Pick<GcsBackoff, "baseDelayMs" | "maxDelayMs" | "maxRetryAfterMs">,
  random: () => number = Math.random,
): number {
  const cap = Math.min(b.maxDelayMs, b.baseDelayMs * 2 ** retry);
  const backoff = Math.floor(random() * cap);
  return Math.max(backoff, Math.ceil(Math.min(b.maxRetryAfterMs, retryAfterMs ?? 0)));
}
