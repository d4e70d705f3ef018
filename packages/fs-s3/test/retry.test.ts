// The adapter's retry strategy: short jittered backoff, the server's Retry-After honoured, client errors
// never retried. The wire tests read the delays the SDK recorded (`$metadata.totalRetryDelay` of the last
// error): the strategy's computed waits, not wall-clock timings.
import { FsError } from "@proximadb/core";
import { createFaultProxy, type FaultProxy } from "@proximadb/testing/fault-proxy";
import { afterEach, describe, expect, it } from "vitest";
import { S3BackoffRetryStrategy } from "../src/index.js";
import { openFresh } from "./support/s3.js";
import { s3rver } from "./support/s3.js";

const settings = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 2000, maxRetryAfterMs: 30_000 };

describe("S3BackoffRetryStrategy", () => {
  it("waits up to baseDelayMs × 2^retry, capped at maxDelayMs (full jitter)", () => {
    const top = new S3BackoffRetryStrategy(settings, () => 0.999_999);
    expect([0, 1, 2, 3, 4, 5].map((r) => top.delayMs(r))).toEqual([99, 199, 399, 799, 1599, 1999]);
    const bottom = new S3BackoffRetryStrategy(settings, () => 0);
    expect(bottom.delayMs(3)).toBe(0);
  });

  it("waits at least the server's Retry-After, up to maxRetryAfterMs", () => {
    const s = new S3BackoffRetryStrategy(settings, () => 0);
    const delay = s.delayMs(0, new Date(Date.now() + 3000));
    expect(delay).toBeGreaterThan(2900);
    expect(delay).toBeLessThanOrEqual(3000);
    expect(s.delayMs(0, new Date(Date.now() + 600_000))).toBe(30_000);
    // A hint in the past does not shorten the backoff below zero.
    expect(s.delayMs(0, new Date(Date.now() - 5000))).toBe(0);
  });

  it("retries throttling and transient failures, never client or plain server errors, within maxAttempts", async () => {
    const s = new S3BackoffRetryStrategy({ ...settings, maxAttempts: 3 }, () => 0.5);
    let token = await s.acquireInitialRetryToken("");
    token = await s.refreshRetryTokenForRetry(token, { errorType: "THROTTLING" });
    expect(token.getRetryCount()).toBe(1);
    expect(token.getRetryDelay()).toBe(50);
    token = await s.refreshRetryTokenForRetry(token, { errorType: "TRANSIENT" });
    expect(token.getRetryCount()).toBe(2);
    await expect(s.refreshRetryTokenForRetry(token, { errorType: "THROTTLING" })).rejects.toThrow();
    const fresh = await s.acquireInitialRetryToken("");
    await expect(s.refreshRetryTokenForRetry(fresh, { errorType: "CLIENT_ERROR" })).rejects.toThrow();
    await expect(s.refreshRetryTokenForRetry(fresh, { errorType: "SERVER_ERROR" })).rejects.toThrow();
  });
});

describe("S3FileSystem retries behind a proxy that answers every request 503 SlowDown", () => {
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  /** The SDK's record of the waits between the attempts of a write that failed every time. */
  async function failedWrite(
    retryAfterSeconds: number | null,
    options: Parameters<typeof openFresh>[0],
  ): Promise<{ attempts: number; totalRetryDelay: number; requests: number }> {
    proxy = await createFaultProxy({ target: s3rver().endpoint, errorRate: 1, retryAfterSeconds });
    const fs = openFresh(options, proxy.url);
    try {
      const err = await fs.write("k", "v").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FsError);
      expect((err as FsError).kind).toBe("Transient");
      const meta = ((err as FsError).cause as { $metadata?: { attempts?: number; totalRetryDelay?: number } })
        .$metadata;
      return {
        attempts: meta?.attempts ?? 0,
        totalRetryDelay: meta?.totalRetryDelay ?? -1,
        requests: proxy.stats.requests,
      };
    } finally {
      await fs.close();
    }
  }

  it("by default backs off from 100 ms (the SDK's standard mode waits from a 1 s base on SlowDown)", async () => {
    const r = await failedWrite(null, { maxAttempts: 4 });
    expect(r.attempts).toBe(4);
    expect(r.requests).toBe(4);
    // Three waits of at most 99, 199 and 399 ms.
    expect(r.totalRetryDelay).toBeGreaterThanOrEqual(0);
    expect(r.totalRetryDelay).toBeLessThanOrEqual(99 + 199 + 399);
  });

  it("honours the server's Retry-After", async () => {
    const r = await failedWrite(1, { maxAttempts: 2 });
    expect(r.attempts).toBe(2);
    expect(r.totalRetryDelay).toBeGreaterThanOrEqual(900);
  });

  it("keeps the SDK's own modes selectable", async () => {
    const r = await failedWrite(null, { maxAttempts: 2, retryMode: "standard" });
    expect(r.attempts).toBe(2);
    expect(r.requests).toBe(2);
  });

  it("refuses an unknown retry mode with a typed error", () => {
    expect(() => openFresh({ retryMode: "eager" as "standard" })).toThrow(/retryMode/);
  });
});
