import { performance } from "node:perf_hooks";
import { ClosedError, InvalidArgumentError, StoreConflictError } from "@proximadb/core";
import { type Etcd3, EtcdLeaseInvalidError, type IKeyValue } from "etcd3";
import {
  type MemberInfo,
  checkAdvertiseUrl,
  checkNodeId,
  clusterError,
  decodeMember,
  encodeMember,
} from "./cluster-values.js";
import { KeyLayout } from "./keys.js";
import { LeaseKeeper } from "./lease.js";
import { Listeners } from "./listeners.js";
import { ResumableWatch } from "./resumable-watch.js";

/**
 * Where a {@link Membership} stands.
 * - `Idle`: not started. `Joining`: lease granted, registering.
 * - `Live`: registered, lease confirmed ({@link Membership.leaseValid} may still turn false before
 *   the `leaseLost` event is delivered: always ask `leaseValid()`).
 * - `Unconfirmed`: the lease deadline passed without an acknowledgement, or the lease is gone and a
 *   new one is being granted. Nothing may be acknowledged in this state.
 * - `Closed`.
 */
export type MembershipState = "Idle" | "Joining" | "Live" | "Unconfirmed" | "Closed";

/** Why the lease stopped being confirmed. */
export type LeaseLossReason =
  /** No keepalive was acknowledged before the local deadline (etcd unreachable, partition, pause). */
  | "Deadline"
  /** etcd answered that the lease no longer exists: every key bound to it is gone. */
  | "Expired";

/** Events of a {@link Membership}. */
export interface MembershipEvents {
  /** A node registered (also this node, once, when it joins). */
  join: MemberInfo;
  /** A node's key disappeared: it closed, or its lease expired. */
  leave: MemberInfo;
  /** A registered node changed its published info. */
  update: MemberInfo;
  /** This node's lease is no longer confirmed: stop acknowledging anything for owned collections. */
  leaseLost: { readonly reason: LeaseLossReason; readonly lease: string };
  /**
   * This node's lease is confirmed again. `sameLease: true`: the old lease survived (etcd was
   * unreachable, not expired), so keys bound to it still exist. `sameLease: false`: a new lease was
   * granted and the node re-registered; whatever was bound to the old lease is gone.
   */
  leaseRestored: { readonly lease: string; readonly sameLease: boolean };
}

/** Options of {@link Membership}. */
export interface MembershipOptions {
  /** The etcd client (e.g. from {@link connectEtcd}, shared with the assignment store). Not closed by `close()`. */
  readonly client: Etcd3;
  /** Cluster name: the second segment of every key. */
  readonly cluster: string;
  /** Key prefix. Default `/proximadb`. */
  readonly prefix?: string;
  /** This node's id (`[server] node_id`): 1-128 characters from `[A-Za-z0-9_.-]`. */
  readonly nodeId: string;
  /** Where peers redirect to (`[cluster] advertise_url`): `http(s)://host:port`, no credentials. */
  readonly url: string;
  /** Lease TTL (`[cluster] lease_ttl_ms`), an integer ≥ 1000. Default 10000. etcd counts whole seconds (rounded up). */
  readonly leaseTtlMs?: number;
  /**
   * Subtracted from every lease deadline (see the README). Default `max(100, leaseTtlMs / 10)`;
   * must be ≥ 0 and below half the TTL.
   */
  readonly safetyMarginMs?: number;
}

interface Member {
  readonly info: MemberInfo;
  readonly lease: string;
  readonly modRevision: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * This node's registration in the cluster and a live view of every registered node.
 *
 * `start()` grants a lease (TTL `leaseTtlMs`), writes `<prefix>/<cluster>/nodes/<nodeId>` =
 * `{"v":1,"id","url","startedAt","leaseTtlMs"}` bound to it, keeps it alive (every TTL/3) and watches
 * `nodes/`. {@link leaseDeadline} is the local instant until which the lease is surely still valid at
 * etcd; {@link leaseValid} checks it with no etcd round trip. When the deadline passes without an
 * acknowledgement the `leaseLost` event fires and keepalives continue: if etcd answers that the lease
 * still exists, `leaseRestored` (`sameLease: true`); if it answers that the lease is gone, a new lease
 * is granted, the node re-registers, and `leaseRestored` (`sameLease: false`).
 *
 * A node id still registered by a previous incarnation (kill -9 and a quick restart) is waited out
 * (its key expires with its lease); one that stays alive longer than twice its TTL is another live
 * process using the same id, and `start()` fails with `StoreConflictError`.
 *
 * @example
 * const membership = new Membership({ client, cluster: "prod", nodeId: "n1", url: "http://10.0.0.1:7700" });
 * membership.on("leaseLost", () => stopAcknowledging());
 * await membership.start();
 * membership.members(); // [{ id: "n1", url: "http://10.0.0.1:7700", startedAt, leaseTtlMs: 10000 }, …]
 */
export class Membership {
  readonly client: Etcd3;
  readonly keys: KeyLayout;
  readonly nodeId: string;
  readonly url: string;
  readonly leaseTtlMs: number;
  readonly safetyMarginMs: number;
  readonly #keeper: LeaseKeeper;
  readonly #listeners = new Listeners<MembershipEvents>();
  readonly #members = new Map<string, Member>();
  #state: MembershipState = "Idle";
  #started: Promise<void> | undefined;
  #rejoin: Promise<void> | undefined;
  readonly #watch: ResumableWatch;
  #startedAt = 0;

  constructor(options: MembershipOptions) {
    this.keys = new KeyLayout(options.prefix ?? "/proximadb", options.cluster);
    this.nodeId = checkNodeId(options.nodeId);
    this.url = checkAdvertiseUrl(options.url);
    const ttl = options.leaseTtlMs ?? 10_000;
    if (!Number.isSafeInteger(ttl) || ttl < 1000) {
      throw new InvalidArgumentError(`leaseTtlMs must be an integer of at least 1000 (got ${ttl})`);
    }
    const margin = options.safetyMarginMs ?? Math.max(100, Math.floor(ttl / 10));
    if (!Number.isFinite(margin) || margin < 0 || margin >= ttl / 2) {
      throw new InvalidArgumentError(
        `safetyMarginMs must be >= 0 and below half of leaseTtlMs ${ttl} (got ${margin})`,
      );
    }
    this.leaseTtlMs = ttl;
    this.safetyMarginMs = margin;
    this.client = options.client;
    this.#watch = new ResumableWatch(this.client, this.keys.nodes, {
      load: () => this.#load(),
      put: (kv) => this.#apply(kv, true),
      delete: (kv) => this.#remove(kv),
    });
    this.#keeper = new LeaseKeeper(this.client, ttl, margin, {
      onAcked: () => this.#onAcked(),
      onDeadline: () => this.#onDeadline(),
      onGone: () => this.#onGone(),
    });
  }

  /** Where this membership stands. */
  get state(): MembershipState {
    return this.#state;
  }

  /** The current lease id (decimal string), once granted. */
  get lease(): string | undefined {
    return this.#state === "Closed" ? undefined : this.#keeper.id;
  }

  /**
   * The `performance.now()` instant until which this node's lease is surely still valid at etcd:
   * (send time of the last acknowledged keepalive or grant) + TTL − `safetyMarginMs`. −∞ before the
   * grant and after close or loss.
   */
  leaseDeadline(): number {
    return this.#state === "Closed" ? Number.NEGATIVE_INFINITY : this.#keeper.deadline();
  }

  /** True while the lease is surely valid (both the monotonic and the wall clock before their deadline). No I/O. */
  leaseValid(): boolean {
    return this.#state === "Live" && this.#keeper.valid();
  }

  /** Every registered node, this one included, sorted by id. */
  members(): MemberInfo[] {
    return [...this.#members.values()]
      .map((m) => m.info)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** One registered node, or `undefined`. */
  member(nodeId: string): MemberInfo | undefined {
    return this.#members.get(nodeId)?.info;
  }

  /** Ids of every registered node (this one included once registered). */
  memberIds(): string[] {
    return [...this.#members.keys()];
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof MembershipEvents>(event: K, listener: (value: MembershipEvents[K]) => void): () => void {
    return this.#listeners.on(event, listener);
  }

  /**
   * Grants the lease, registers this node and loads and watches the member list. Idempotent.
   * @throws StoreUnavailableError when etcd cannot be reached (the next call tries again).
   * @throws StoreConflictError when another live process is registered with this node id.
   */
  start(): Promise<void> {
    if (this.#state === "Closed") return Promise.reject(new ClosedError("membership", "start"));
    this.#started ??= this.#start().catch((err) => {
      this.#started = undefined;
      // Revoke what was granted (best effort), so a retry does not wait out its own registration.
      void this.#keeper.revoke().catch(() => undefined);
      if (this.#state !== "Closed") this.#state = "Idle";
      throw clusterError(err, "join");
    });
    return this.#started;
  }

  /**
   * Leaves the cluster. With `revoke: true` (default) the lease is revoked, so this node's key and
   * every owner key bound to it disappear at once and peers take over immediately. With
   * `revoke: false` keepalives just stop and the keys expire after the TTL (what a crash looks like).
   * The deadline is invalidated first, so `leaseValid()` is false from the moment this is called.
   * A revoke that fails because etcd is down is not an error: the lease then expires on its own.
   */
  async close(options: { revoke?: boolean } = {}): Promise<void> {
    if (this.#state === "Closed") return;
    this.#state = "Closed";
    this.#keeper.stop();
    await this.#watch.stop();
    if (options.revoke !== false) await this.#keeper.revoke().catch(() => undefined);
    this.#members.clear();
    this.#listeners.clear();
  }

  /**
   * Reports that etcd refused an operation made with `lease` because the lease does not exist.
   * Used by {@link Ownership}; harmless for a lease that is not the current one.
   */
  reportLeaseGone(lease: string): void {
    this.#keeper.reportGone(lease);
  }

  // --- lease state machine --------------------------------------------------------------------

  #onAcked(): void {
    if (this.#state !== "Unconfirmed" || this.#rejoin) return;
    this.#state = "Live";
    this.#listeners.emit("leaseRestored", { lease: this.#keeper.id as string, sameLease: true });
  }

  #onDeadline(): void {
    if (this.#state !== "Live") return;
    this.#state = "Unconfirmed";
    this.#listeners.emit("leaseLost", { reason: "Deadline", lease: this.#keeper.id as string });
  }

  #onGone(): void {
    if (this.#state === "Closed" || this.#state === "Idle" || this.#state === "Joining") return;
    const lease = this.#keeper.id as string;
    const wasLive = this.#state === "Live";
    this.#state = "Unconfirmed";
    if (wasLive) this.#listeners.emit("leaseLost", { reason: "Expired", lease });
    this.#rejoin ??= this.#rejoinLoop().finally(() => {
      this.#rejoin = undefined;
    });
  }

  /** A new lease and a new registration, retried until etcd answers (or close). */
  async #rejoinLoop(): Promise<void> {
    let delay = 100;
    while (this.#state === "Unconfirmed") {
      try {
        const lease = await this.#keeper.grant();
        await this.#register(lease);
        if (this.#state !== "Unconfirmed") return;
        if (this.#keeper.id !== lease) continue;
        this.#state = "Live";
        this.#listeners.emit("leaseRestored", { lease, sameLease: false });
        return;
      } catch {
        if (this.#state !== "Unconfirmed") return;
        await sleep(delay);
        delay = Math.min(delay * 2, Math.max(200, this.leaseTtlMs / 3));
      }
    }
  }

  // --- registration and view ------------------------------------------------------------------

  async #start(): Promise<void> {
    this.#state = "Joining";
    this.#startedAt = Date.now();
    const lease = await this.#keeper.grant();
    await this.#register(lease);
    await this.#watch.start();
    if (this.#state !== "Joining") throw new ClosedError("membership", "start");
    // Owns nothing yet: an unconfirmed lease here just waits for the next acknowledgement.
    this.#state = this.#keeper.valid() ? "Live" : "Unconfirmed";
    // etcd reported the lease gone while joining: get a new one.
    if (!this.#keeper.running) {
      this.#state = "Unconfirmed";
      this.#onGone();
    }
  }

  #info(): MemberInfo {
    return { id: this.nodeId, url: this.url, startedAt: this.#startedAt, leaseTtlMs: this.leaseTtlMs };
  }

  /** Creates this node's key with `lease`; waits out a previous incarnation's key. */
  async #register(lease: string): Promise<void> {
    const key = this.keys.node(this.nodeId);
    const value = encodeMember(this.#info());
    let waitUntil: number | undefined;
    for (;;) {
      if (this.#state === "Closed") throw new ClosedError("membership", "join");
      const res = await this.client
        .if(key, "Create", "==", 0)
        .then(this.client.put(key).value(value).lease(lease))
        .else(this.client.get(key))
        .commit();
      if (res.succeeded) return;
      const kv = res.responses[0]?.response_range?.kvs?.[0];
      if (!kv) continue; // deleted in between
      if (String(kv.lease) === lease) return; // our own put, whose reply was lost and retried
      const previous = decodeMember(kv.value.toString());
      const ttl = Math.max(1000, previous?.leaseTtlMs ?? this.leaseTtlMs);
      waitUntil ??= performance.now() + 2 * ttl + 1000;
      if (performance.now() > waitUntil) {
        throw new StoreConflictError(
          `node id ${this.nodeId} is registered by another live process (its lease is kept alive); every node needs its own node_id`,
        );
      }
      await sleep(Math.min(250, ttl / 4));
    }
  }

  /** Loads the member list; on a reload, reports who came and went meanwhile. */
  async #load(): Promise<number> {
    const res = await this.client.getAll().prefix(this.keys.nodes).exec();
    const before = new Map(this.#members);
    this.#members.clear();
    for (const kv of res.kvs) this.#apply(kv, false);
    for (const [id, m] of before) if (!this.#members.has(id)) this.#listeners.emit("leave", m.info);
    for (const [id, m] of this.#members) {
      const old = before.get(id);
      if (!old) this.#listeners.emit("join", m.info);
      else if (encodeMember(old.info) !== encodeMember(m.info)) this.#listeners.emit("update", m.info);
    }
    return Number(res.header.revision);
  }

  #apply(kv: IKeyValue, emit: boolean): void {
    const id = kv.key.toString().slice(this.keys.nodes.length);
    const info = decodeMember(kv.value.toString());
    if (!info || info.id !== id) return;
    const modRevision = Number(kv.mod_revision);
    const old = this.#members.get(id);
    if (old && old.modRevision >= modRevision) return;
    this.#members.set(id, { info, lease: String(kv.lease), modRevision });
    if (!emit) return;
    if (!old) this.#listeners.emit("join", info);
    else if (encodeMember(old.info) !== encodeMember(info)) this.#listeners.emit("update", info);
  }

  #remove(kv: IKeyValue): void {
    const id = kv.key.toString().slice(this.keys.nodes.length);
    const old = this.#members.get(id);
    if (!old || old.modRevision >= Number(kv.mod_revision)) return;
    this.#members.delete(id);
    this.#listeners.emit("leave", old.info);
    // Our own key vanished while our lease lives (an operator deleted it): put it back. If the lease
    // is what vanished, etcd refuses the put and the lease is reported gone.
    if (id === this.nodeId && this.#state === "Live" && old.lease === this.#keeper.id) {
      const lease = old.lease;
      this.client
        .put(this.keys.node(this.nodeId))
        .value(encodeMember(this.#info()))
        .lease(lease)
        .exec()
        .catch((err: unknown) => {
          if (err instanceof EtcdLeaseInvalidError) this.reportLeaseGone(lease);
        });
    }
  }
}
