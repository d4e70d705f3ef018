import type { CollectionId } from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryReport } from "@proximadb/discovery";
import type { EngineBase } from "./engine-base.js";
import type { CollectionLocation, StorageEngine } from "./storage-engine.js";

/**
 * The placement half of {@link StorageEngine} that every engine answers the same way: `report`,
 * `collections`, `locate` and `place`, forwarded to the engine's private {@link EngineBase} after the
 * engine's own {@link PlacedEngine.assertOpen} (so each refuses use after close with its own
 * `ClosedError`). An engine extends it, passes its engine base to `super`, and keeps its own reference
 * for everything else.
 *
 * @example
 * class NoteEngine extends PlacedEngine implements StorageEngine {
 *   #closed = false;
 *   private constructor(base: EngineBase) { super(base); }
 *   protected override assertOpen(operation: string): void {
 *     if (this.#closed) throw new ClosedError("note engine", operation);
 *   }
 * }
 */
export abstract class PlacedEngine
  implements Pick<StorageEngine, "report" | "collections" | "locate" | "place">
{
  readonly #placement: EngineBase;

  protected constructor(base: EngineBase) {
    this.#placement = base;
  }

  /**
   * Throws core's `ClosedError` (naming `operation`) once the engine is closed.
   * @throws ClosedError
   */
  protected abstract assertOpen(operation: string): void;

  /** The discovery report the placement map was rebuilt from. */
  get report(): DiscoveryReport<DiscoveryDetail> {
    return this.#placement.report;
  }

  /**
   * Collections placed in this component (found by discovery or placed since open).
   * @throws ClosedError after close
   */
  collections(): CollectionId[] {
    this.assertOpen("collections");
    return this.#placement.collections();
  }

  /**
   * Where a collection's files live, without placing it (undefined when it has no root here).
   * @throws InvalidCollectionIdError; ClosedError after close
   */
  locate(id: string): CollectionLocation | undefined {
    this.assertOpen("locate");
    return this.#placement.locate(id);
  }

  /**
   * Places the collection (assigning its root on first use, writing the root marker if needed) without
   * writing a file of it.
   * @throws InvalidCollectionIdError, NoEligibleRootError, RootOfflineError; ClosedError after close
   */
  async place(id: string): Promise<CollectionLocation> {
    this.assertOpen("place");
    return this.#placement.place(id);
  }
}

/**
 * One queue per collection: {@link CollectionLocks.run} starts `fn` once every earlier call for the
 * same collection has settled (whether it resolved or threw), so an engine's writes of one collection
 * never interleave while different collections proceed in parallel. A queue is forgotten when it drains.
 */
export class CollectionLocks {
  readonly #tails = new Map<CollectionId, Promise<unknown>>();

  /** Runs `fn` after the collection's earlier calls; resolves or rejects as `fn` does. */
  run<T>(collection: CollectionId, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(collection) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.#tails.set(collection, settled);
    void settled.then(() => {
      if (this.#tails.get(collection) === settled) this.#tails.delete(collection);
    });
    return next;
  }

  /** Resolves when every call queued so far has settled (never rejects). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#tails.values()]);
  }
}
