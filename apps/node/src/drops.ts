import type { CollectionId } from "@proximadb/core";
import type { Logger } from "pino";
import type { CollectionCatalog } from "./catalog.js";
import type { CollectionDefinition } from "./collection.js";
import type { EngineRegistry } from "./engines/registry.js";
import { NodeError, describe } from "./errors.js";

/** What drops need of the node. */
export interface DropsOptions {
  readonly catalog: CollectionCatalog;
  readonly engines: EngineRegistry;
  readonly logger: Logger;
  /** First retry delay of a failed drop (doubled per failure, at most a minute). */
  readonly retryMs: number;
  /**
   * Several nodes: called once a drop deleted everything, to give the collection's ownership up for good
   * (`Ownership.retire`: owner key deleted, epoch counter kept as the floor of a re-create). A failure is
   * logged; the owner key then ends with this node's lease.
   */
  readonly retire?: (id: CollectionId) => Promise<unknown> | undefined;
}

/** How a drop asked through the API starts (see {@link CollectionDrops.drop}). */
export interface DropRequest {
  /** Stops writes and waits for the collection's in-flight work. */
  readonly quiesce: () => Promise<void>;
  /** Called when the drop could not even start (its tombstone was not written): the collection stays. */
  readonly restore: () => void;
  readonly definition: CollectionDefinition;
}

interface Reservation {
  /** The attempt in progress (or the last one). */
  attempt: Promise<void>;
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

const MAX_RETRY_MS = 60_000;

/**
 * Drops of collections, crash-safe. A drop is an intent first: a durable tombstone in the collection's
 * catalogue entry, written before anything is deleted. Then every component's files are deleted (the
 * record engines', the WAL's, the index's), the catalogue's documents last (the definition among them),
 * and the tombstone after them. From the request until the tombstone is gone the id is reserved: a
 * create answers 409 "being dropped", also after a crash (the next start finds the tombstone and resumes
 * the drop, in the background, reported in the log and `/stats`). A failed step is retried with backoff.
 */
export class CollectionDrops {
  readonly #o: DropsOptions;
  readonly #reserved = new Map<string, Reservation>();
  #closed = false;

  constructor(options: DropsOptions) {
    this.#o = options;
  }

  /** True while `id` is being dropped (reserved). */
  has(id: string): boolean {
    return this.#reserved.has(id);
  }

  /** Ids being dropped, sorted. */
  list(): string[] {
    return [...this.#reserved.keys()].sort();
  }

  /** The drop of `id` in progress (its current attempt), if any. */
  running(id: string): Promise<void> | undefined {
    return this.#reserved.get(id)?.attempt;
  }

  /**
   * Drops a collection the node serves; reserves the id at once (synchronously). Resolves once every
   * component is deleted.
   * @throws the tombstone's write failure (nothing deleted, `restore` called); NodeError `Unavailable`
   *   when a later step failed (the drop stays reserved and is retried)
   */
  drop(id: CollectionId, request: DropRequest): Promise<void> {
    const known = this.#reserved.get(id);
    if (known) return known.attempt;
    const reservation: Reservation = { attempt: Promise.resolve(), failures: 0, timer: undefined };
    this.#reserved.set(id, reservation);
    reservation.attempt = (async () => {
      await request.quiesce();
      try {
        await this.#o.catalog.markDropping(id, {
          format: 1,
          droppedAt: new Date().toISOString(),
          placements: request.definition.placements,
        });
      } catch (err) {
        this.#reserved.delete(id);
        request.restore();
        throw err;
      }
      await this.#attempt(id, reservation, "request");
    })();
    return reservation.attempt;
  }

  /** Resumes drops whose tombstone was found at start, one after another, in the background. */
  resume(ids: readonly CollectionId[]): void {
    let chain = Promise.resolve();
    for (const id of ids) {
      if (this.#reserved.has(id)) continue;
      const reservation: Reservation = { attempt: chain, failures: 0, timer: undefined };
      this.#reserved.set(id, reservation);
      const turn = chain.then(() => {
        this.#o.logger.warn({ collection: id }, "resuming an interrupted drop");
        return this.#attempt(id, reservation, "resumed");
      });
      reservation.attempt = turn;
      chain = turn.catch(() => undefined);
    }
  }

  /** Stops the retries and waits for the attempts in progress (a tombstone left resumes at the next start). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const r of this.#reserved.values()) clearTimeout(r.timer);
    await Promise.allSettled([...this.#reserved.values()].map((r) => r.attempt));
  }

  async #attempt(id: CollectionId, reservation: Reservation, trigger: string): Promise<void> {
    try {
      await this.#deleteEverything(id);
    } catch (err) {
      reservation.failures++;
      const delay = Math.min(this.#o.retryMs * 2 ** (reservation.failures - 1), MAX_RETRY_MS);
      this.#o.logger.error(
        { collection: id, err: describe(err), failures: reservation.failures, retryInMs: delay },
        "drop did not finish; retried",
      );
      if (!this.#closed) {
        reservation.timer = setTimeout(() => {
          reservation.attempt = this.#attempt(id, reservation, "retry");
          reservation.attempt.catch(() => undefined);
        }, delay);
        reservation.timer.unref();
      }
      throw new NodeError("Unavailable", `drop of ${id} did not finish (${describe(err)}); it is retried`, {
        cause: err,
      });
    }
    this.#reserved.delete(id);
    this.#o.logger.info({ collection: id, trigger }, "collection dropped");
  }

  async #deleteEverything(id: CollectionId): Promise<void> {
    await deleteCollection(this.#o.engines, this.#o.catalog, id);
    await this.#o.retire?.(id)?.catch((err: unknown) => {
      this.#o.logger.warn({ collection: id, err: describe(err) }, "dropped; its owner key is left to expire");
    });
  }
}

/**
 * The deleting steps of a drop (its tombstone written): every component but metadata, then the catalogue
 * (documents, tombstone, placement). Idempotent: a drop interrupted anywhere is completed by running it again.
 */
export async function deleteCollection(
  engines: EngineRegistry,
  catalog: CollectionCatalog,
  id: CollectionId,
): Promise<void> {
  // Every record engine: any may hold leftovers of an earlier collection of this id.
  for (const engine of engines.records()) await engine.drop(id);
  await engines.store("wal").drop(id);
  if (engines.has("index")) await engines.store("index").drop(id);
  await catalog.finishDrop(id);
}
