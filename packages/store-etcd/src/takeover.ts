import type { CollectionId } from "@proximadb/core";
import { rankNodes } from "./rendezvous.js";

/** What the {@link TakeoverScheduler} asks of its owner. */
export interface TakeoverHost {
  readonly self: string;
  /** May takeovers be tried now (running, lease valid)? */
  canTakeOver(): boolean;
  /** Collections with an epoch key and no owner key. */
  orphans(): Iterable<CollectionId>;
  isOrphan(collection: CollectionId): boolean;
  /** Who owned it before its key disappeared, when known. */
  previousOwner(collection: CollectionId): string | undefined;
  /** Ids of the registered (live) nodes. */
  liveNodes(): string[];
  /** One takeover attempt; handles its own failures. */
  attempt(collection: CollectionId): Promise<void>;
}

/**
 * Decides which orphans this node tries to take over, and when. Every live node ranks the live
 * nodes for an orphan by rendezvous hash (the previous owner left out when another node is live, so
 * a released collection goes elsewhere); rank 0 tries at once, rank r after `r × fallbackMs` (in
 * case the better ranked do not). Trying is safe for anyone: the compare-and-set decides.
 */
export class TakeoverScheduler {
  readonly #host: TakeoverHost;
  readonly #fallbackMs: number;
  readonly #concurrency: number;
  readonly #fallback = new Map<CollectionId, NodeJS.Timeout>();
  readonly #trying = new Set<CollectionId>();
  readonly #queue: CollectionId[] = [];
  #active = 0;
  #evaluation: NodeJS.Immediate | undefined;
  #stopped = false;

  constructor(host: TakeoverHost, fallbackMs: number, concurrency: number) {
    this.#host = host;
    this.#fallbackMs = fallbackMs;
    this.#concurrency = concurrency;
  }

  /** Evaluates every orphan on the next turn of the event loop (several calls coalesce). */
  schedule(): void {
    if (this.#evaluation || this.#stopped) return;
    this.#evaluation = setImmediate(() => {
      this.#evaluation = undefined;
      this.#evaluate();
    });
  }

  /** Forgets a pending fallback for a collection that got an owner. */
  forget(collection: CollectionId): void {
    const t = this.#fallback.get(collection);
    if (t) clearTimeout(t);
    this.#fallback.delete(collection);
  }

  /** Drops every pending fallback and queued attempt (attempts in flight finish). */
  pause(): void {
    for (const t of this.#fallback.values()) clearTimeout(t);
    this.#fallback.clear();
    for (const c of this.#queue.splice(0)) this.#trying.delete(c);
  }

  stop(): void {
    this.#stopped = true;
    this.pause();
    if (this.#evaluation) clearImmediate(this.#evaluation);
    this.#evaluation = undefined;
  }

  #evaluate(): void {
    if (this.#stopped || !this.#host.canTakeOver()) return;
    const live = this.#host.liveNodes();
    for (const c of this.#host.orphans()) {
      if (this.#trying.has(c)) continue;
      const previous = this.#host.previousOwner(c);
      const others = live.filter((id) => id !== previous);
      const rank = rankNodes(c, others.length > 0 ? others : live).indexOf(this.#host.self);
      if (rank < 0) {
        this.forget(c);
      } else if (rank === 0) {
        this.forget(c);
        this.#enqueue(c);
      } else if (!this.#fallback.has(c)) {
        const timer = setTimeout(() => {
          this.#fallback.delete(c);
          if (this.#host.isOrphan(c) && this.#host.canTakeOver()) this.#enqueue(c);
        }, rank * this.#fallbackMs);
        timer.unref();
        this.#fallback.set(c, timer);
      }
    }
  }

  #enqueue(c: CollectionId): void {
    if (this.#trying.has(c) || this.#stopped) return;
    this.#trying.add(c);
    this.#queue.push(c);
    this.#pump();
  }

  #pump(): void {
    while (this.#active < this.#concurrency && this.#queue.length > 0) {
      const c = this.#queue.shift() as CollectionId;
      this.#active++;
      void this.#host
        .attempt(c)
        .catch(() => undefined)
        .finally(() => {
          this.#active--;
          this.#trying.delete(c);
          this.#pump();
        });
    }
  }
}
