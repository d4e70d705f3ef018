import { type CollectionId, StoreUnavailableError } from "@proximadb/core";
import type { Membership, Ownership, OwnershipEvents } from "@proximadb/store-etcd";
import type { Logger } from "pino";
import type { CollectionDefinition, EngineKind } from "../collection.js";
import { NodeError, describe } from "../errors.js";
import type { StorageNode } from "../node.js";
import { OwnedElsewhereError, notServedNow } from "./errors.js";
import { deleteCollection } from "../drops.js";
import { fenceCollection, relinquishCollection } from "./fencing.js";

/** Where a request for a collection goes. */
export type Route =
  | { readonly to: "here" }
  | { readonly to: "owner"; readonly error: OwnedElsewhereError }
  | { readonly to: "nowhere"; readonly error: NodeError };

/** `GET /cluster`: one entry per live node. */
export interface ClusterNodeView {
  readonly id: string;
  readonly url: string;
  /** Collections it owns (from the owner keys). */
  readonly collections: number;
  readonly leaseTtlMs: number;
}

/**
 * The node's side of ownership (issue #15): serves exactly the collections this node owns at their
 * epochs. `acquired` → fence at the epoch, replay the WAL, serve; `lost` → acknowledge nothing more at
 * once, then drop the collection's memory. Writes are acknowledged only after they are durable **and**
 * {@link Ownership.isOwner} still holds (a map lookup and two clock reads: no etcd round trip).
 */
export class NodeCluster {
  readonly membership: Membership;
  readonly ownership: Ownership;
  readonly #node: StorageNode;
  readonly #log: Logger;
  /** Collections served, at their epoch (set after the replay; removed at once on `lost`). */
  readonly #serving = new Map<string, number>();
  /** Collections being created here after a won claim, at their epoch. */
  readonly #creating = new Map<string, number>();
  /** Collections whose claim by `create` is in flight. */
  readonly #claiming = new Set<string>();
  /** Per collection, the chain its acquire/lose work runs in (events apply in order). */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #closeClient: () => void;
  #draining = false;
  #unsubscribe: (() => void)[] = [];

  constructor(o: {
    node: StorageNode;
    membership: Membership;
    ownership: Ownership;
    logger: Logger;
    /** Closes the etcd connection (after the membership). */
    close?: () => void;
  }) {
    this.#node = o.node;
    this.#closeClient = o.close ?? (() => {});
    this.membership = o.membership;
    this.ownership = o.ownership;
    this.#log = o.logger;
    this.#unsubscribe = [
      o.ownership.on("acquired", (e) => this.#onAcquired(e)),
      o.ownership.on("lost", (e) => this.#onLost(e)),
    ];
  }

  /** This node's id. */
  get nodeId(): string {
    return this.membership.nodeId;
  }

  /**
   * Starts the membership and ownership (subscribed before, so no `acquired` is missed) and enrolls every
   * collection the placement map knows (those placed before ownership existed get an epoch key; the
   * rendezvous winners take them over).
   */
  async start(): Promise<void> {
    await this.ownership.start();
    const known = this.#node.service.list("metadata").map((a) => a.collection);
    const enrolled = await this.ownership.enroll(known);
    this.#log.info(
      { node: this.nodeId, members: this.membership.memberIds().length, known: known.length, enrolled },
      "cluster joined",
    );
  }

  /** True while this node serves `id` (maintenance runs only then). */
  serves(id: string): boolean {
    const epoch = this.#serving.get(id);
    return epoch !== undefined && !this.#draining && this.ownership.isOwner(id, epoch);
  }

  /** The owner and epoch of a collection, as the API shows them (`owner: null` while none). */
  ownerOf(id: string): { owner: string | null; epoch: number | null } {
    const o = this.ownership.owner(id);
    return { owner: o?.node ?? null, epoch: o?.epoch ?? null };
  }

  /**
   * Where a request for `id` goes: here (served, or unknown: the node answers 404), to the owner's URL
   * (307), or nowhere for now (503: a takeover or replay in progress, or the lease unconfirmed).
   */
  route(id: string): Route {
    if (this.serves(id)) return { to: "here" };
    if (this.#draining) return { to: "nowhere", error: notServedNow(id, "this node is shutting down") };
    const owner = this.ownership.owner(id);
    if (owner && owner.node !== this.nodeId) {
      const url = this.membership.member(owner.node)?.url;
      if (url) return { to: "owner", error: new OwnedElsewhereError(id, owner.node, url) };
      return { to: "nowhere", error: notServedNow(id, `its owner ${owner.node} is not registered`) };
    }
    if (owner) return { to: "nowhere", error: notServedNow(id, "this node is taking it over") };
    if (this.#creating.has(id)) return { to: "nowhere", error: notServedNow(id, "it is being created") };
    const known = this.#node.service.get(id, "metadata") !== undefined;
    return known ? { to: "nowhere", error: notServedNow(id, "its owner is being replaced") } : { to: "here" };
  }

  /**
   * The ack gate, after a write is durable: throws unless this node still owns `id` at the epoch it serves
   * it at and its lease is surely valid. @throws NodeError `Unavailable` (retryable)
   */
  assertAck(id: string): void {
    if (this.serves(id)) return;
    const r = this.route(id);
    throw r.to === "here" ? notServedNow(id, "this node no longer owns it") : r.error;
  }

  /**
   * Creates a collection owned here: claims it (owner key and epoch in one etcd transaction, before the
   * placement), fences it at the epoch, runs `create`, then serves it. Owned elsewhere: 307 there. A
   * failed create releases the claim.
   */
  async create<T>(id: string, engine: EngineKind, create: () => Promise<T>): Promise<T> {
    if (this.#draining) throw notServedNow(id, "this node is shutting down");
    let claim: Awaited<ReturnType<Ownership["claim"]>>;
    this.#claiming.add(id);
    try {
      claim = await this.ownership.claim(id);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw notServedNow(id, describe(err));
      throw err;
    } finally {
      this.#claiming.delete(id);
    }
    if (!claim.acquired) {
      const r = this.route(id);
      throw r.to === "here" ? notServedNow(id, "it has another owner") : r.error;
    }
    const epoch = claim.epoch;
    this.#creating.set(id, epoch);
    try {
      // Its WAL, its engine, metadata and index (fencing places: only the components it will use).
      await fenceCollection(this.#stores([this.#node.engines.record(engine)]), id as CollectionId, epoch);
      const out = await create();
      if (this.ownership.isOwner(id, epoch)) this.#serving.set(id, epoch);
      return out;
    } catch (err) {
      this.ownership.release(id).catch(() => undefined);
      throw err;
    } finally {
      this.#creating.delete(id);
    }
  }

  /** `GET /cluster`: every live node with its URL, owned-collection count and lease TTL. */
  nodes(): ClusterNodeView[] {
    const counts = new Map<string, number>();
    for (const o of this.ownership.owners().values()) counts.set(o.node, (counts.get(o.node) ?? 0) + 1);
    return this.membership
      .members()
      .map((m) => ({ id: m.id, url: m.url, collections: counts.get(m.id) ?? 0, leaseTtlMs: m.leaseTtlMs }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /**
   * Graceful handoff (SIGTERM): stops acknowledging, waits for the WAL to be durable (nothing needs a
   * flush: the next owner replays the WAL), then releases every owner key so peers take over at once.
   */
  async drain(): Promise<number> {
    this.#draining = true;
    await this.#node.wal.sync();
    const released = await this.ownership.releaseAll();
    await Promise.allSettled([...this.#chains.values()]);
    this.#log.info({ released }, "collections handed off");
    return released;
  }

  /** Stops ownership and membership (the lease is revoked: anything left goes to the peers at once). */
  async close(): Promise<void> {
    this.#draining = true;
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    await this.ownership.close();
    await this.membership.close({ revoke: true }).catch(() => undefined);
    this.#closeClient();
  }

  /** The WAL, the given record engines' stores, metadata and (when configured) the index. */
  #stores(records: readonly { readonly store: unknown }[]): unknown[] {
    const { engines } = this.#node;
    const others = (["metadata", "index"] as const).flatMap((c) =>
      engines.has(c) ? [engines.store(c)] : [],
    );
    return [this.#node.wal, ...records.map((r) => r.store), ...others];
  }

  /**
   * A drop interrupted on the previous owner (its tombstone is still there): the new owner completes it
   * at takeover instead of serving the collection (fenced first: only the owner deletes), then retires
   * the owner key. Returns whether there was one.
   */
  async #completeDrop(id: CollectionId, epoch: number): Promise<boolean> {
    const { catalog, engines } = this.#node;
    if (!(await catalog.tombstone(id))) return false;
    await fenceCollection(this.#stores(engines.records()), id, epoch);
    await deleteCollection(engines, catalog, id);
    await this.ownership.retire(id);
    this.#log.info({ collection: id, epoch }, "interrupted drop completed at takeover");
    return true;
  }

  #onAcquired(e: OwnershipEvents["acquired"]): void {
    const { collection: id, epoch, how } = e;
    // `create` fences and serves it (its claim emits `acquired` before it resolves).
    if (this.#creating.has(id) || (how === "Claimed" && this.#claiming.has(id))) return;
    this.#chain(id, async () => {
      if (!this.ownership.isOwner(id, epoch)) return; // lost again meanwhile
      const prepare = (def: CollectionDefinition) =>
        fenceCollection([this.#node.wal, ...this.#node.engines.storesOf(def)], def.id, epoch).then(() => {});
      const t0 = performance.now();
      try {
        if (await this.#completeDrop(id as CollectionId, epoch)) return;
        await this.#node.adopt(id, prepare);
      } catch (err) {
        if (err instanceof NodeError && err.kind === "NotFound") {
          // No definition: created and not finished elsewhere, or dropped. Nothing to serve.
          this.#log.warn({ collection: id, epoch }, "acquired a collection without a definition");
          return;
        }
        this.#log.error({ collection: id, epoch, err: describe(err) }, "cannot serve an acquired collection");
        return;
      }
      if (!this.ownership.isOwner(id, epoch)) return;
      this.#serving.set(id, epoch);
      const ms = Math.round(performance.now() - t0);
      this.#log.info({ collection: id, epoch, how, replayMs: ms }, "collection acquired");
    });
  }

  #onLost(e: OwnershipEvents["lost"]): void {
    const { collection: id, epoch, reason } = e;
    // The gate closes at once: from here on nothing more is acknowledged for it.
    if (this.#serving.get(id) === epoch) this.#serving.delete(id);
    this.#log.info({ collection: id, epoch, reason }, "collection lost");
    this.#chain(id, async () => {
      await this.#node.relinquish(id);
      // Index upkeep stops, the engines forget it and drop this node's staging of it (the new owner
      // replays the WAL; metadata is kept: its writes are not replayed).
      const records = this.#node.engines.records().map((r) => r.store);
      await relinquishCollection([this.#node.search, ...records], id as CollectionId);
    });
  }

  #chain(id: string, work: () => Promise<void>): void {
    const prev = this.#chains.get(id) ?? Promise.resolve();
    const next = prev.then(work).catch((err: unknown) => {
      this.#log.error({ collection: id, err: describe(err) }, "ownership change failed");
    });
    this.#chains.set(id, next);
    next.then(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    });
  }
}
