// The retry strategy of S3FileSystem's client. Why not the SDK's own `standard` mode: since @smithy/core
// 3.x ("v2026" retry defaults) it backs off from a 1 s base on every throttling error (503 SlowDown, 429),
// with full jitter (0–1 s for the first retry, 0–2 s for the second…), so each SlowDown stalls a WAL writer
// for about half a second on average, and it honours `Retry-After` only up to 5 s past that. A storage engine
// on its write path wants short first retries that grow quickly and are capped, and the server's
// `Retry-After` when it gives one.

import { type BackoffSettings, backoffDelayMs } from "@proximadb/core";

/** The SDK's view of a failed attempt (structurally `RetryErrorInfo` of `@smithy/types`). */
export interface S3RetryErrorInfo {
  readonly errorType: "THROTTLING" | "TRANSIENT" | "SERVER_ERROR" | "CLIENT_ERROR";
  /** From the response's `Retry-After` (seconds or an HTTP date), parsed by the SDK. */
  readonly retryAfterHint?: Date | undefined;
}

/** A retry token (structurally `StandardRetryToken` of `@smithy/types`). */
export interface S3RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/** Settings of {@link S3BackoffRetryStrategy}. */
export interface S3BackoffSettings extends BackoffSettings {
  /** Total attempts per request (the first included). */
  readonly maxAttempts: number;
}

/** Default settings of {@link S3BackoffRetryStrategy} (`maxAttempts` comes from the adapter's options). */
export const DEFAULT_S3_BACKOFF = { baseDelayMs: 100, maxDelayMs: 2000, maxRetryAfterMs: 30_000 } as const;

const token = (count: number, delay: number): S3RetryToken => ({
  getRetryCount: () => count,
  getRetryDelay: () => delay,
});

/**
 * An SDK retry strategy (`RetryStrategyV2`): retries throttling and transient failures (429, 500/502/503/504,
 * resets, timeouts) up to `maxAttempts` in all, after `random(0, min(maxDelayMs, baseDelayMs × 2^retry))` ms
 * or, when the server sent `Retry-After`, at least that long (up to `maxRetryAfterMs`). Client errors
 * (4xx other than 429) are never retried.
 */
export class S3BackoffRetryStrategy {
  readonly mode = "standard";
  readonly #s: S3BackoffSettings;
  readonly #random: () => number;

  /** @param random source of jitter in [0, 1) (tests pass a fixed one). */
  constructor(settings: S3BackoffSettings, random: () => number = Math.random) {
    this.#s = settings;
    this.#random = random;
  }

  async acquireInitialRetryToken(_scope: string): Promise<S3RetryToken> {
    return token(0, 0);
  }

  /** The next attempt's token; throws (the SDK then rethrows the attempt's error) when no retry is due. */
  async refreshRetryTokenForRetry(previous: S3RetryToken, info: S3RetryErrorInfo): Promise<S3RetryToken> {
    const retries = previous.getRetryCount();
    if (info.errorType !== "THROTTLING" && info.errorType !== "TRANSIENT")
      throw new Error("not a retryable error");
    if (retries + 1 >= this.#s.maxAttempts) throw new Error("no attempts left");
    return token(retries + 1, this.delayMs(retries, info.retryAfterHint));
  }

  /** Delay before retry number `retries + 1`: jittered exponential backoff, or the server's hint if longer. */
  delayMs(retries: number, retryAfter?: Date): number {
    const hinted = retryAfter === undefined ? undefined : retryAfter.getTime() - Date.now();
    return backoffDelayMs(retries, hinted, this.#s, this.#random);
  }

  recordSuccess(_token: S3RetryToken): void {}
}
