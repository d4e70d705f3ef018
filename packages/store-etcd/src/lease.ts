import { performance } from "node:perf_hooks";
import { type Etcd3, EtcdLeaseInvalidError } from "etcd3";

type KeepAliveStream = Awaited<ReturnType<Etcd3["leaseClient"]["leaseKeepAlive"]>>;

/** What a {@link LeaseKeeper} reports to its owner. */
export interface LeaseKeeperHooks {
  /** A keepalive was acknowledged: the deadline moved forward. */
  onAcked(): void;
  /** The deadline passed without a newer acknowledgement. */
  onDeadline(): void;
  /** etcd answered that the lease no longer exists (expired or revoked). Keepalives stopped. */
  onGone(): void;
}

interface Sent {
  readonly mono: number;
  readonly wall: number;
  readonly id: string;
  readonly stream: KeepAliveStream;
}

/**
 * One etcd lease kept alive over one keepalive stream, with a local deadline until which the lease
 * is surely valid at etcd.
 *
 * Only one keepalive is in flight at a time, so an acknowledgement is always paired with the
 * request it answers. etcd extends the lease to (its receipt time + TTL) and the receipt is after
 * our send, so `send time + TTL` is a lower bound of the expiry; the deadline is that minus a
 * safety margin, measured on two local clocks (see {@link valid}). A request that gets no answer
 * within one keepalive interval has its stream dropped and reopened; an answer on a dropped stream
 * is ignored (it could only have moved the deadline, never shortened it).
 */
export class LeaseKeeper {
  readonly ttlMs: number;
  readonly marginMs: number;
  readonly #client: Etcd3;
  readonly #hooks: LeaseKeeperHooks;
  readonly #intervalMs: number;
  #id: string | undefined;
  #mono = Number.NEGATIVE_INFINITY;
  #wall = Number.NEGATIVE_INFINITY;
  #stream: KeepAliveStream | undefined;
  #opening = false;
  #inflight: Sent | undefined;
  #interval: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = 50;
  #running = false;

  constructor(client: Etcd3, ttlMs: number, marginMs: number, hooks: LeaseKeeperHooks) {
    this.#client = client;
    this.ttlMs = ttlMs;
    this.marginMs = marginMs;
    this.#hooks = hooks;
    // What etcd's Go client uses: a third of the TTL, so two keepalives may fail before the deadline.
    this.#intervalMs = Math.max(100, Math.floor(ttlMs / 3));
  }

  /** The current lease id (kept after {@link stop}, for {@link revoke}). */
  get id(): string | undefined {
    return this.#id;
  }

  /** True between {@link grant} and {@link stop} (or the lease being reported gone). */
  get running(): boolean {
    return this.#running;
  }

  /** `performance.now()` instant until which the lease is surely valid at etcd; −∞ when none. */
  deadline(): number {
    return this.#mono;
  }

  /**
   * True while both local clocks are before their deadline. The monotonic clock is immune to
   * wall-clock steps; the wall clock also runs while the host is suspended (Linux's monotonic clock
   * does not), so a suspended-and-resumed host is caught too. A wall clock stepped forward only makes
   * this false early (safe).
   */
  valid(): boolean {
    return performance.now() < this.#mono && Date.now() < this.#wall;
  }

  /** Grants a new lease (forgetting, not revoking, any previous one) and starts keeping it alive. */
  async grant(): Promise<string> {
    this.stop();
    this.#id = undefined;
    this.#invalidate();
    const mono = performance.now();
    const wall = Date.now();
    const res = await this.#client.leaseClient.leaseGrant({ TTL: Math.ceil(this.ttlMs / 1000) });
    this.#id = String(res.ID);
    this.#running = true;
    this.#retryDelayMs = 50;
    this.#extend(mono, wall, Number(res.TTL));
    this.#interval = setInterval(() => this.#tick(), this.#intervalMs);
    this.#interval.unref();
    return this.#id;
  }

  /** Stops keepalives (the lease then expires at etcd after its TTL) and invalidates the deadline. */
  stop(): void {
    this.#running = false;
    this.#invalidate();
    clearInterval(this.#interval);
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#retryTimer);
    this.#interval = undefined;
    this.#deadlineTimer = undefined;
    this.#retryTimer = undefined;
    this.#dropStream();
  }

  /** Stops keepalives and revokes the lease at etcd: every key bound to it is deleted at once. */
  async revoke(): Promise<void> {
    this.stop();
    const id = this.#id;
    if (id === undefined) return;
    try {
      await this.#client.leaseClient.leaseRevoke({ ID: id });
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError)) throw err;
    }
  }

  /** Called when etcd refused an operation with this lease ("lease not found"). */
  reportGone(id: string): void {
    if (id !== this.#id || !this.#running) return;
    this.stop();
    this.#hooks.onGone();
  }

  #invalidate(): void {
    this.#mono = Number.NEGATIVE_INFINITY;
    this.#wall = Number.NEGATIVE_INFINITY;
  }

  #extend(mono: number, wall: number, grantedTtlSeconds: number): void {
    const ttl = Math.min(this.ttlMs, grantedTtlSeconds * 1000) - this.marginMs;
    this.#mono = Math.max(this.#mono, mono + ttl);
    this.#wall = Math.max(this.#wall, wall + ttl);
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(
      () => {
        this.#deadlineTimer = undefined;
        if (this.#running && !this.valid()) this.#hooks.onDeadline();
      },
      Math.max(0, this.#mono - performance.now()) + 1,
    );
    this.#deadlineTimer.unref();
  }

  #tick(): void {
    if (!this.#running) return;
    if (this.#inflight) {
      if (performance.now() - this.#inflight.mono < this.#intervalMs) return;
      // No answer within an interval: the stream is stuck (partition, paused etcd). Start afresh.
      this.#dropStream();
    }
    // The timer fires late when the event loop was blocked: tell the owner as soon as we run.
    if (!this.valid()) this.#hooks.onDeadline();
    void this.#send();
  }

  async #send(): Promise<void> {
    let stream = this.#stream;
    if (!stream) {
      if (this.#opening) return;
      this.#opening = true;
      try {
        stream = await this.#open();
      } catch {
        this.#scheduleRetry();
        return;
      } finally {
        this.#opening = false;
      }
      if (!this.#running) {
        this.#dropStream();
        return;
      }
    }
    const id = this.#id;
    if (this.#inflight || id === undefined) return;
    this.#inflight = { mono: performance.now(), wall: Date.now(), id, stream };
    try {
      stream.write({ ID: id });
    } catch {
      this.#dropStream();
      this.#scheduleRetry();
    }
  }

  async #open(): Promise<KeepAliveStream> {
    const stream = await this.#client.leaseClient.leaseKeepAlive();
    this.#stream = stream;
    stream.on("data", (res) => this.#onData(stream, String(res.ID), Number(res.TTL)));
    stream.on("error", () => this.#onBroken(stream));
    stream.on("end", () => this.#onBroken(stream));
    return stream;
  }

  #onData(stream: KeepAliveStream, id: string, ttlSeconds: number): void {
    if (stream !== this.#stream || !this.#running) return;
    const sent = this.#inflight;
    this.#inflight = undefined;
    if (!sent || sent.stream !== stream || sent.id !== id) return;
    if (!(ttlSeconds > 0)) {
      // etcd no longer knows the lease: it expired (or was revoked); every key bound to it is gone.
      this.stop();
      this.#hooks.onGone();
      return;
    }
    this.#retryDelayMs = 50;
    this.#extend(sent.mono, sent.wall, ttlSeconds);
    this.#hooks.onAcked();
  }

  #onBroken(stream: KeepAliveStream): void {
    if (stream !== this.#stream) return;
    this.#stream = undefined;
    this.#inflight = undefined;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (!this.#running || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#tick();
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, this.#intervalMs);
  }

  #dropStream(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    this.#inflight = undefined;
    if (!stream) return;
    try {
      stream.cancel();
    } catch {
      // already closed
    }
  }
}
