/** The delays of a jittered exponential backoff that honours a server's `Retry-After`. */
export interface BackoffSettings {
  /** Cap of the first retry's delay in ms, doubled per retry. */
  readonly baseDelayMs: number;
  /** Cap of any backoff delay in ms. */
  readonly maxDelayMs: number;
  /** The longest `Retry-After` honoured, in ms. */
  readonly maxRetryAfterMs: number;
}

/**
 * Delay before retry number `retry + 1` (0-based `retry`): uniform in `0..min(maxDelayMs, baseDelayMs ×
 * 2^retry)` (full jitter), or the server's `Retry-After` (`retryAfterMs` from now, capped at
 * `maxRetryAfterMs`) when that is longer. Used by the object-store adapters' own retries.
 */
export function backoffDelayMs(
  retry: number,
  retryAfterMs: number | undefined,
  b: BackoffSettings,
  random: () => number = Math.random,
): number {
  const cap = Math.min(b.maxDelayMs, b.baseDelayMs * 2 ** retry);
  const backoff = Math.floor(random() * cap);
  return Math.max(backoff, Math.ceil(Math.min(b.maxRetryAfterMs, retryAfterMs ?? 0)));
}
