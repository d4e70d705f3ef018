import type { CollectionId } from "@proximadb/core";

/**
 * An engine that fences a collection at an ownership epoch: from the call on, what it writes for the
 * collection carries `epoch`, its recovery re-reads the collection's files (another owner wrote them) and
 * ignores what an older epoch wrote after a newer one began (see `@proximadb/engine`'s fencing).
 */
interface Fenceable {
  fence(id: CollectionId, epoch: number): Promise<unknown> | unknown;
}

function canFence(engine: unknown): engine is Fenceable {
  return (
    typeof engine === "object" &&
    engine !== null &&
    typeof (engine as Partial<Fenceable>).fence === "function"
  );
}

/** An engine that lets go of a collection this node lost (see `StorageEngine.relinquish`). */
interface Relinquishable {
  relinquish(id: CollectionId): Promise<unknown>;
}

function canRelinquish(engine: unknown): engine is Relinquishable {
  return (
    typeof engine === "object" &&
    engine !== null &&
    typeof (engine as Partial<Relinquishable>).relinquish === "function"
  );
}

/**
 * Lets go of one collection this node lost in every engine given that supports it: each forgets what it
 * holds of it and its fence, and removes this node's staging of it (another node owns it now). Every
 * engine is tried; the first failure is thrown after all ran. Returns how many did.
 */
export async function relinquishCollection(engines: readonly unknown[], id: CollectionId): Promise<number> {
  const results = await Promise.allSettled(
    [...new Set(engines)].filter(canRelinquish).map((engine) => engine.relinquish(id)),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.length;
}

/**
 * Fences one collection at `epoch` in every engine given (the WAL, its record engine, metadata, index)
 * that supports fencing; returns how many did. Called when this node acquires the collection, before
 * its WAL is replayed and before anything is written for it.
 */
export async function fenceCollection(
  engines: readonly unknown[],
  id: CollectionId,
  epoch: number,
): Promise<number> {
  let fenced = 0;
  for (const engine of new Set(engines)) {
    if (!canFence(engine)) continue;
    await engine.fence(id, epoch);
    fenced++;
  }
  return fenced;
}
