import {
  ClosedError,
  type CollectionId,
  InvalidArgumentError,
  StoreConflictError,
  StoreUnavailableError,
  isCollectionId,
  parseCollectionId,
} from "@proximadb/core";
import { type Etcd3, EtcdLeaseInvalidError, type IKeyValue } from "etcd3";
import {
  type OwnerRecord,
  clusterError,
  decodeEpoch,
  decodeOwner,
  isDroppedEpoch,
} from "./cluster-values.js";
import { createEpochIfAbsent, deleteOwnerIf, raiseEpoch, retireOwnerIf } from "./epoch-txn.js";
import { EtcdStoreError } from "./errors.js";
import type { KeyLayout } from "./keys.js";
import { Listeners } from "./listeners.js";
import type { Membership } from "./membership.js";
import type {
  AcquisitionKind,
  ClaimResult,
  LossReason,
  OwnershipEvents,
  OwnershipOptions,
} from "./ownership-types.js";
import { ResumableWatch } from "./resumable-watch.js";
import { TakeoverScheduler } from "./takeover.js";

interface OwnerEntry {
  /** `undefined` when the value could not be read (such a key is never taken over). */
  readonly record: OwnerRecord | undefined;
  readonly lease: string;
  readonly modRevision: number;
}

interface EpochEntry {
  readonly epoch: number | undefined;
  readonly modRevision: number;
  /** The collection was dropped: not an orphan (see {@link Ownership.retire}). */
  readonly dropped?: boolean;
}

type State = "Idle" | "Running" | "Draining" | "Closed";
const RETRY = Symbol("retry");

/**
 * Exactly one owner per collection, on etcd leases.
 *
 * `<prefix>/<cluster>/owners/<collectionId>` = `{"v":1,"node","epoch"}` is bound to the owner's
 * lease; `<prefix>/<cluster>/epochs/<collectionId>` = `{"v":1,"epoch"}` has no lease, so the epoch
 * survives the owner key. Every acquisition is one transaction "owner key absent and epoch key
 * unchanged → put owner {me, epoch + 1} with my lease, put epoch + 1": of any number of nodes exactly
 * one wins, and epochs never repeat. When an owner key disappears (lease expired, released), every
 * live node ranks the live nodes for the collection by rendezvous hash (the previous owner excluded
 * when another node is live) and only the first tries; the r-th tries after `r × takeoverFallbackMs`.
 *
 * {@link isOwner} is a local check (held set + lease deadline), cheap enough per group commit.
 *
 * @example
 * const ownership = new Ownership({ membership });
 * ownership.on("acquired", ({ collection, epoch }) => engine.open(collection, epoch)); // replay, then serve
 * ownership.on("lost", ({ collection }) => engine.fence(collection));
 * await ownership.start();
 * const r = await ownership.claim("orders"); // { acquired: true, epoch: 1 } or { acquired: false, owner }
 */
export class Ownership {
  readonly membership: Membership;
  readonly #client: Etcd3;
  readonly #keys: KeyLayout;
  readonly #self: string;
  readonly #concurrency: number;
  readonly #takeovers: TakeoverScheduler;
  readonly #listeners = new Listeners<OwnershipEvents>();
  readonly #owners = new Map<CollectionId, OwnerEntry>();
  readonly #epochs = new Map<CollectionId, EpochEntry>();
  /** Epoch key without an owner key. */
  readonly #orphans = new Set<CollectionId>();
  /** Owned and served. */
  readonly #held = new Map<CollectionId, number>();
  /** Owner key is (or may be) ours, but not served: the lease is unconfirmed. */
  readonly #suspended = new Map<CollectionId, number>();
  /** A release that has not completed. */
  readonly #releasing = new Map<CollectionId, number>();
  /** Who owned an orphan before its key disappeared (excluded from its takeover ranking). */
  readonly #previous = new Map<CollectionId, string>();
  /** Acquisitions in flight, so a watch event that overtakes the reply is adopted with the right kind. */
  readonly #pending = new Map<CollectionId, AcquisitionKind>();
  #state: State = "Idle";
  #started: Promise<void> | undefined;
  readonly #watch: ResumableWatch;
  #unsubscribe: (() => void)[] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelayMs = 100;

  constructor(options: OwnershipOptions) {
    this.membership = options.membership;
    this.#client = options.membership.client;
    this.#keys = options.membership.keys;
    this.#self = options.membership.nodeId;
    const fallback = options.takeoverFallbackMs ?? options.membership.leaseTtlMs;
    if (!Number.isFinite(fallback) || fallback < 0) {
      throw new InvalidArgumentError(`takeoverFallbackMs must be a number >= 0 (got ${fallback})`);
    }
    const concurrency = options.concurrency ?? 16;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new InvalidArgumentError(`concurrency must be an integer >= 1 (got ${concurrency})`);
    }
    this.#concurrency = concurrency;
    // One watch over the cluster prefix keeps owner and epoch events in revision order.
    this.#watch = new ResumableWatch(this.#client, this.#keys.base, {
      load: () => this.#load(),
      put: (kv) => {
        const key = kv.key.toString();
        if (key.startsWith(this.#keys.owners)) this.#putOwner(kv);
        else if (key.startsWith(this.#keys.epochs)) this.#putEpoch(kv);
      },
      delete: (kv) => {
        const key = kv.key.toString();
        if (key.startsWith(this.#keys.owners)) this.#deleteOwner(kv);
        else if (key.startsWith(this.#keys.epochs)) this.#deleteEpoch(kv);
      },
      changed: () => this.#takeovers.schedule(),
    });
    this.#takeovers = new TakeoverScheduler(
      {
        self: this.#self,
        canTakeOver: () => this.#state === "Running" && this.membership.leaseValid(),
        orphans: () => this.#orphans,
        isOrphan: (c) => this.#orphans.has(c),
        previousOwner: (c) => this.#previous.get(c),
        liveNodes: () => this.membership.memberIds(),
        attempt: (c) => this.#takeover(c),
      },
      fallback,
      concurrency,
    );
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof OwnershipEvents>(event: K, listener: (value: OwnershipEvents[K]) => void): () => void {
    return this.#listeners.on(event, listener);
  }

  /**
   * Starts the membership if needed, loads owners and epochs, watches them, and begins taking over
   * free collections this node is the rendezvous winner for. Idempotent; called by the first
   * `claim`/`enroll`/`release` when not called explicitly (subscribe to the events before).
   * @throws StoreUnavailableError when etcd cannot be reached (the next call tries again).
   */
  start(): Promise<void> {
    if (this.#state === "Closed") return Promise.reject(new ClosedError("ownership", "start"));
    this.#started ??= this.#start().catch((err) => {
      this.#started = undefined;
      throw clusterError(err, "ownership start");
    });
    return this.#started;
  }

  /**
   * True when this node holds `collection` at exactly `epoch` and its lease is surely valid. No I/O:
   * check it after a write is durable and before acknowledging it (per record or per group commit).
   */
  isOwner(collection: string, epoch: number): boolean {
    return this.#held.get(collection as CollectionId) === epoch && this.membership.leaseValid();
  }

  /** The owner of `collection` from the watch cache (`undefined`: none, or unreadable). */
  owner(collection: string): OwnerRecord | undefined {
    return this.#owners.get(collection as CollectionId)?.record;
  }

  /** Every collection with an owner, from the watch cache. */
  owners(): Map<CollectionId, OwnerRecord> {
    const out = new Map<CollectionId, OwnerRecord>();
    for (const [c, e] of this.#owners) if (e.record) out.set(c, e.record);
    return out;
  }

  /** The collections this node holds, with their epochs (acquired and not lost). */
  owned(): Map<CollectionId, number> {
    return new Map(this.#held);
  }

  /**
   * Acquires a new or free collection: one transaction that creates the owner key (bound to this
   * node's lease) and raises the epoch. Already held: its current epoch. Owned by another node:
   * `{ acquired: false, owner }` (redirect there). Emits `acquired` on success.
   * @throws InvalidCollectionIdError for a bad id (nothing written).
   * @throws StoreUnavailableError when etcd is unreachable or this node's lease is not confirmed.
   */
  async claim(collection: string): Promise<ClaimResult> {
    const id = parseCollectionId(collection);
    await this.#ready("claim");
    if (this.#state === "Draining")
      throw new StoreUnavailableError(`this node is handing its collections off (claim ${id})`);
    const held = this.#held.get(id);
    if (held !== undefined) return { acquired: true, epoch: held };
    for (let round = 0; round < 100; round++) {
      if (!this.membership.leaseValid())
        throw new StoreUnavailableError(`this node's etcd lease is not confirmed (claim ${id}); retry later`);
      const result = await this.#acquire(id, "Claimed");
      if (result === RETRY) continue;
      // Won at etcd while the lease stopped being confirmed: not served until it is restored.
      if (result.acquired && this.#held.get(id) !== result.epoch)
        throw new StoreUnavailableError(`this node's etcd lease is not confirmed (claim ${id}); retry later`);
      return result;
    }
    throw new StoreConflictError(`gave up claiming ${id}: its epoch kept moving`);
  }

  /**
   * Records collections that exist (found on storage, or placed before ownership existed) so that
   * they get an owner: creates their epoch key at 0 where it is missing. Free ones are then taken
   * over by the rendezvous winner like any orphan. Returns how many keys were created.
   * @throws InvalidCollectionIdError for a bad id (nothing written).
   */
  async enroll(collections: Iterable<string>): Promise<number> {
    const ids = [...collections].map((c) => parseCollectionId(c));
    await this.#ready("enroll");
    let created = 0;
    const missing = ids.filter((c) => !this.#epochs.has(c));
    for (let i = 0; i < missing.length; i += this.#concurrency) {
      const batch = missing.slice(i, i + this.#concurrency);
      const results = await Promise.all(
        batch.map((c) =>
          createEpochIfAbsent(this.#client, this.#keys, c).catch((err: unknown) => {
            throw clusterError(err, `enroll ${c}`);
          }),
        ),
      );
      created += results.filter(Boolean).length;
    }
    return created;
  }

  /**
   * Hands a collection off: stops holding it at once (emits `lost` with `Released`), then deletes
   * its owner key if it is still this node's at this node's epoch. The best-ranked other live node
   * takes it over immediately (alone in the cluster, this node takes it back). Returns `false` when
   * the key was not ours any more (or this node did not hold it).
   * @throws StoreUnavailableError when etcd is unreachable (call again; the key otherwise expires with the lease).
   */
  async release(collection: string): Promise<boolean> {
    const id = parseCollectionId(collection);
    await this.#ready("release");
    const epoch = this.#held.get(id) ?? this.#suspended.get(id) ?? this.#releasing.get(id);
    if (epoch === undefined) return false;
    this.#letGo(id, epoch);
    try {
      const deleted = await deleteOwnerIf(this.#client, this.#keys, id, { node: this.#self, epoch });
      this.#releasing.delete(id);
      return deleted;
    } catch (err) {
      throw clusterError(err, `release ${id}`);
    }
  }

  /**
   * After this node dropped a collection it owns: stops holding it (emits `lost` with `Released`), then,
   * while the owner key is still this node's at its epoch, marks the epoch key dropped and deletes the
   * owner key in one transaction. The epoch counter stays: a re-create claims at a higher epoch than any
   * writer of the dropped collection held (a stale writer's late files are fenced out), and no node takes
   * a dropped collection over. Returns `false` when the key was not ours (nothing written).
   * @throws StoreUnavailableError when etcd is unreachable (the owner key then ends with the lease and
   *   a peer may take the collection over: it finds no definition and serves nothing)
   */
  async retire(collection: string): Promise<boolean> {
    const id = parseCollectionId(collection);
    await this.#ready("retire");
    const epoch = this.#held.get(id) ?? this.#suspended.get(id);
    if (epoch === undefined) return false;
    this.#letGo(id, epoch);
    try {
      const res = await retireOwnerIf(this.#client, this.#keys, id, { node: this.#self, epoch });
      if (res.succeeded) {
        this.#epochs.set(id, { epoch, modRevision: res.revision, dropped: true });
        this.#owners.delete(id);
        this.#orphans.delete(id);
      }
      return res.succeeded;
    } catch (err) {
      throw clusterError(err, `retire ${id}`);
    } finally {
      this.#releasing.delete(id);
    }
  }

  /** Stops holding `id` before its owner key is given up (emits `lost` with `Released` if it was held). */
  #letGo(id: CollectionId, epoch: number): void {
    this.#releasing.set(id, epoch);
    this.#suspended.delete(id);
    if (this.#held.delete(id)) this.#emitLost(id, epoch, "Released");
  }

  /**
   * Graceful handoff of everything: stops taking anything over, then releases every collection this
   * node holds. Returns how many owner keys were deleted. Call `close()` (and the membership's) next.
   * @throws StoreUnavailableError (after trying every collection) when etcd was unreachable for some.
   */
  async releaseAll(): Promise<number> {
    await this.#ready("releaseAll");
    this.#state = "Draining";
    this.#takeovers.pause();
    const all = new Set([...this.#held.keys(), ...this.#suspended.keys(), ...this.#releasing.keys()]);
    let released = 0;
    let failure: unknown;
    const ids = [...all];
    for (let i = 0; i < ids.length; i += this.#concurrency) {
      const results = await Promise.allSettled(
        ids.slice(i, i + this.#concurrency).map((c) => this.release(c)),
      );
      for (const r of results) {
        if (r.status === "fulfilled") released += r.value ? 1 : 0;
        else failure ??= r.reason;
      }
    }
    if (failure !== undefined) throw failure;
    return released;
  }

  /** Stops watching and taking over. Holds nothing afterwards (`isOwner` is false); keys stay until the lease ends. */
  async close(): Promise<void> {
    if (this.#state === "Closed") return;
    this.#state = "Closed";
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    this.#takeovers.stop();
    clearTimeout(this.#retryTimer);
    this.#held.clear();
    this.#suspended.clear();
    this.#releasing.clear();
    await this.#watch.stop();
    this.#listeners.clear();
  }

  // --- start, cache and watch -----------------------------------------------------------------

  async #start(): Promise<void> {
    await this.membership.start();
    if (this.#state === "Closed") throw new ClosedError("ownership", "start");
    if (this.#unsubscribe.length === 0) {
      this.#unsubscribe = [
        this.membership.on("join", () => this.#takeovers.schedule()),
        this.membership.on("leave", () => this.#takeovers.schedule()),
        this.membership.on("leaseLost", () => this.#suspendAll()),
        this.membership.on("leaseRestored", ({ sameLease }) => this.#onRestored(sameLease)),
      ];
    }
    await this.#watch.start();
    if (this.#state === "Idle") this.#state = "Running";
    // Keys still bound to this node's current lease (a lost reply, a new Ownership on a live membership).
    for (const [c, e] of this.#owners) if (this.#isMine(e)) this.#suspended.set(c, e.record!.epoch);
    void this.#restoreAll();
    this.#takeovers.schedule();
  }

  /** Loads owners and epochs at one revision; after a resync, drops what is no longer ours. */
  async #load(): Promise<number> {
    const owners = await this.#client.getAll().prefix(this.#keys.owners).exec();
    const revision = owners.header.revision;
    const epochs = await this.#client.getAll().prefix(this.#keys.epochs).revision(revision).exec();
    this.#owners.clear();
    this.#epochs.clear();
    this.#orphans.clear();
    for (const kv of epochs.kvs) this.#putEpoch(kv);
    for (const kv of owners.kvs) this.#putOwner(kv);
    for (const [c, epoch] of this.#held) {
      const e = this.#owners.get(c);
      if (!e || e.record?.node !== this.#self || e.record.epoch !== epoch) {
        this.#held.delete(c);
        this.#emitLost(c, epoch, "Removed");
      }
    }
    return Number(revision);
  }

  #collectionOf(kv: IKeyValue, prefix: string): CollectionId | undefined {
    const c = kv.key.toString().slice(prefix.length);
    return isCollectionId(c) ? c : undefined;
  }

  #isMine(e: OwnerEntry | undefined): boolean {
    return e?.record?.node === this.#self && e.lease === this.membership.lease;
  }

  #putOwner(kv: IKeyValue): void {
    const c = this.#collectionOf(kv, this.#keys.owners);
    if (!c) return;
    const modRevision = Number(kv.mod_revision);
    const old = this.#owners.get(c);
    if (old && old.modRevision >= modRevision) return;
    const entry: OwnerEntry = {
      record: decodeOwner(kv.value.toString()),
      lease: String(kv.lease),
      modRevision,
    };
    this.#owners.set(c, entry);
    this.#orphans.delete(c);
    this.#previous.delete(c);
    this.#takeovers.forget(c);
    const mine = entry.record?.node === this.#self ? entry.record.epoch : undefined;
    const held = this.#held.get(c);
    if (held !== undefined && held !== mine) {
      this.#held.delete(c);
      this.#emitLost(c, held, "Removed");
    }
    const suspended = this.#suspended.get(c);
    if (suspended !== undefined && suspended !== mine) this.#suspended.delete(c);
    // Ours under the current lease but unknown here: a claim whose reply was lost. Adopt it.
    if (mine !== undefined && this.#isMine(entry) && !this.#releasing.has(c))
      this.#take(c, mine, this.#pending.get(c) ?? "Claimed");
  }

  #deleteOwner(kv: IKeyValue): void {
    const c = this.#collectionOf(kv, this.#keys.owners);
    if (!c) return;
    const old = this.#owners.get(c);
    if (!old || old.modRevision >= Number(kv.mod_revision)) return;
    this.#owners.delete(c);
    this.#takeovers.forget(c);
    if (old.record) this.#previous.set(c, old.record.node);
    if (this.#epochs.has(c) && !this.#epochs.get(c)?.dropped) this.#orphans.add(c);
    const held = this.#held.get(c);
    if (held !== undefined) {
      this.#held.delete(c);
      this.#emitLost(c, held, "Removed");
    }
    this.#suspended.delete(c);
  }

  #putEpoch(kv: IKeyValue): void {
    const c = this.#collectionOf(kv, this.#keys.epochs);
    if (!c) return;
    const modRevision = Number(kv.mod_revision);
    const old = this.#epochs.get(c);
    if (old && old.modRevision >= modRevision) return;
    const value = kv.value.toString();
    const dropped = isDroppedEpoch(value);
    this.#epochs.set(c, { epoch: decodeEpoch(value), modRevision, dropped });
    if (dropped) this.#orphans.delete(c);
    else if (!this.#owners.has(c)) this.#orphans.add(c);
  }

  #deleteEpoch(kv: IKeyValue): void {
    const c = this.#collectionOf(kv, this.#keys.epochs);
    if (!c) return;
    const old = this.#epochs.get(c);
    if (!old || old.modRevision >= Number(kv.mod_revision)) return;
    this.#epochs.delete(c);
    this.#orphans.delete(c);
  }

  // --- acquisition ----------------------------------------------------------------------------

  /**
   * One compare-and-set: owner key absent and epoch key as cached → owner {me, epoch + 1} with my
   * lease, epoch + 1. `RETRY` when only the epoch moved (the cache is now refreshed).
   */
  async #acquire(c: CollectionId, how: AcquisitionKind): Promise<ClaimResult | typeof RETRY> {
    const lease = this.membership.lease;
    if (lease === undefined) throw new StoreUnavailableError(`this node has no etcd lease (${how} ${c})`);
    const cached = this.#epochs.get(c);
    if (cached && cached.epoch === undefined) {
      throw new EtcdStoreError("InvalidValue", `etcd holds an unreadable epoch for collection ${c}`, {
        key: this.#keys.epoch(c),
      });
    }
    const epoch = (cached?.epoch ?? 0) + 1;
    let res: Awaited<ReturnType<typeof raiseEpoch>>;
    this.#pending.set(c, how);
    try {
      res = await raiseEpoch({
        client: this.#client,
        keys: this.#keys,
        collection: c,
        node: this.#self,
        lease,
        ownerModRevision: undefined,
        epochModRevision: cached?.modRevision,
        epoch,
      });
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) {
        this.membership.reportLeaseGone(lease);
        throw new StoreUnavailableError(`this node's etcd lease expired (${how} ${c}); it re-registers`, {
          cause: err,
        });
      }
      throw clusterError(err, `${how === "Claimed" ? "claim" : "takeover"} ${c}`);
    } finally {
      this.#pending.delete(c);
    }
    const { revision, ownerKv, epochKv } = res;
    if (res.succeeded) {
      this.#owners.set(c, { record: { node: this.#self, epoch }, lease, modRevision: revision });
      this.#epochs.set(c, { epoch, modRevision: revision });
      this.#orphans.delete(c);
      this.#previous.delete(c);
      this.#takeovers.forget(c);
      this.#take(c, epoch, how);
      return { acquired: true, epoch };
    }
    if (epochKv) this.#putEpoch(epochKv);
    else if (this.#epochs.delete(c)) this.#orphans.delete(c);
    if (ownerKv) {
      this.#putOwner(ownerKv);
      const record = decodeOwner(ownerKv.value.toString());
      if (record?.node === this.#self && String(ownerKv.lease) === lease)
        return { acquired: true, epoch: record.epoch }; // our own earlier attempt (a retried call)
      return { acquired: false, owner: record };
    }
    return RETRY;
  }

  /** Starts holding `c` at `epoch` (idempotent); while the lease is unconfirmed it is only suspended. */
  #take(c: CollectionId, epoch: number, how: AcquisitionKind): void {
    if (this.#held.get(c) === epoch) return;
    this.#previous.delete(c);
    if (this.#state !== "Running" || !this.membership.leaseValid()) {
      if (this.#state !== "Closed") this.#suspended.set(c, epoch);
      return;
    }
    this.#suspended.delete(c);
    this.#held.set(c, epoch);
    this.#listeners.emit("acquired", { collection: c, epoch, how });
  }

  #emitLost(c: CollectionId, epoch: number, reason: LossReason): void {
    this.#listeners.emit("lost", { collection: c, epoch, reason });
  }

  /** Starts on first use (like the assignment store); `ClosedError` after close. */
  async #ready(operation: string): Promise<void> {
    if (this.#state === "Closed") throw new ClosedError("ownership", operation);
    if (this.#state === "Idle") await this.start();
  }

  // --- lease loss and restore -----------------------------------------------------------------

  #suspendAll(): void {
    this.#takeovers.pause();
    for (const [c, epoch] of this.#held) {
      this.#held.delete(c);
      this.#suspended.set(c, epoch);
      this.#emitLost(c, epoch, "LeaseLost");
    }
  }

  #onRestored(sameLease: boolean): void {
    if (this.#state === "Closed") return;
    // A new lease: whatever was bound to the old one is gone (or going); peers take it over.
    if (!sameLease) this.#suspended.clear();
    else void this.#restoreAll();
    this.#takeovers.schedule();
  }

  /**
   * Re-acquires suspended collections whose owner key is still ours under the current lease, with a
   * raised epoch, so that every `acquired` carries an epoch never used before.
   */
  async #restoreAll(): Promise<void> {
    const ids = [...this.#suspended.keys()];
    let failed = false;
    for (let i = 0; i < ids.length; i += this.#concurrency) {
      await Promise.all(
        ids.slice(i, i + this.#concurrency).map(async (c) => {
          try {
            await this.#restore(c);
          } catch {
            failed = true;
          }
        }),
      );
    }
    if (failed) this.#scheduleRetry();
  }

  async #restore(c: CollectionId, round = 0): Promise<void> {
    const epoch = this.#suspended.get(c);
    const entry = this.#owners.get(c);
    if (epoch === undefined || this.#state !== "Running" || !this.membership.leaseValid()) return;
    if (!this.#isMine(entry) || entry?.record?.epoch !== epoch) {
      this.#suspended.delete(c);
      return;
    }
    const lease = this.membership.lease as string;
    const cached = this.#epochs.get(c);
    const next = Math.max(epoch, cached?.epoch ?? 0) + 1;
    this.#pending.set(c, "Restored");
    const res = await raiseEpoch({
      client: this.#client,
      keys: this.#keys,
      collection: c,
      node: this.#self,
      lease,
      ownerModRevision: entry.modRevision,
      epochModRevision: cached?.modRevision,
      epoch: next,
    })
      .catch((err: unknown) => {
        if (err instanceof EtcdLeaseInvalidError) this.membership.reportLeaseGone(lease);
        throw err;
      })
      .finally(() => this.#pending.delete(c));
    if (res.succeeded) {
      this.#owners.set(c, { record: { node: this.#self, epoch: next }, lease, modRevision: res.revision });
      this.#epochs.set(c, { epoch: next, modRevision: res.revision });
      this.#take(c, next, "Restored");
      return;
    }
    if (res.epochKv) this.#putEpoch(res.epochKv);
    if (res.ownerKv) this.#putOwner(res.ownerKv);
    // Still ours but the cache was stale: try again with the fresh revisions.
    if (round < 5 && this.#suspended.has(c) && this.#isMine(this.#owners.get(c)))
      await this.#restore(c, round + 1);
  }

  // --- takeover -------------------------------------------------------------------------------

  async #takeover(c: CollectionId): Promise<void> {
    if (this.#state !== "Running" || !this.#orphans.has(c) || !this.membership.leaseValid()) return;
    try {
      const result = await this.#acquire(c, "TakenOver");
      this.#retryDelayMs = 100;
      if (result === RETRY) this.#takeovers.schedule();
    } catch {
      // etcd unreachable (or the lease went): evaluate again later; ownership is decided only by etcd.
      this.#scheduleRetry();
    }
  }

  /** Tries pending restores and takeovers again after a backoff (etcd was unreachable). */
  #scheduleRetry(): void {
    if (this.#retryTimer || this.#state === "Closed") return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#suspended.size > 0) void this.#restoreAll();
      this.#takeovers.schedule();
    }, this.#retryDelayMs);
    this.#retryTimer.unref();
    this.#retryDelayMs = Math.min(this.#retryDelayMs * 2, Math.max(200, this.membership.leaseTtlMs / 3));
  }
}
