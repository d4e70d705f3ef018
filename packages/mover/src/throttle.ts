import { InvalidArgumentError } from "@proximadb/core";

/**
 * A token bucket over bytes: `take(n)` waits until `n` more bytes fit under `bytesPerSecond` (with a
 * burst of one second). Unlimited when `bytesPerSecond` is undefined or 0. One bucket may be shared by
 * every move of a node.
 */
export class Throttle {
  readonly bytesPerSecond: number | undefined;
  #tokens: number;
  #last: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  /** @throws InvalidArgumentError for a negative or non-finite rate */
  constructor(
    bytesPerSecond?: number,
    o: { now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
  ) {
    if (bytesPerSecond !== undefined && !(Number.isFinite(bytesPerSecond) && bytesPerSecond >= 0))
      throw new InvalidArgumentError(
        `max bytes per second must be a non-negative number (got ${bytesPerSecond})`,
      );
    this.bytesPerSecond = bytesPerSecond === 0 ? undefined : bytesPerSecond;
    this.#now = o.now ?? (() => performance.now());
    this.#sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.#tokens = this.bytesPerSecond ?? 0;
    this.#last = this.#now();
  }

  /** Waits until `bytes` may pass. */
  async take(bytes: number): Promise<void> {
    const rate = this.bytesPerSecond;
    if (rate === undefined || bytes <= 0) return;
    for (;;) {
      const now = this.#now();
      this.#tokens = Math.min(rate, this.#tokens + ((now - this.#last) / 1000) * rate);
      this.#last = now;
      // A chunk larger than the burst passes once the bucket is full (it cannot ever fit otherwise).
      if (this.#tokens >= Math.min(bytes, rate)) {
        this.#tokens -= bytes;
        return;
      }
      await this.#sleep(Math.max(1, ((Math.min(bytes, rate) - this.#tokens) / rate) * 1000));
    }
  }
}
