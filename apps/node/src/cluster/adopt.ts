import type { Logger } from "pino";
import type { CollectionDefinition } from "../collection.js";
import { CollectionState } from "../collection-state.js";
import { NodeError } from "../errors.js";
import type { StorageNode } from "../node.js";
import { replayWal } from "../recovery.js";

/**
 * Loads a collection this node just acquired (a takeover, a restore, a restart): its definition from its
 * metadata root, then `prepare` (fencing at the new epoch, so the engines re-read what the previous owner
 * wrote), then its WAL replayed after its checkpoint, as at start-up. Only the owner does this: the WAL's
 * recovery (a torn tail cut) runs here, never on a node that does not own the collection.
 * @throws NodeError `NotFound` when it has no definition (being created, or dropped); `Unavailable` when
 *   its WAL ends below its checkpoint
 */
export async function adoptState(
  node: StorageNode,
  id: string,
  prepare: (def: CollectionDefinition) => Promise<void>,
  logger: Logger,
): Promise<CollectionState> {
  const def = await node.findDefinition(id);
  await prepare(def);
  const state = new CollectionState(def, node.engines.record(def.engine));
  const { catalog, engines, service, wal } = node;
  await replayWal([state], { catalog, engines, service, wal, logger });
  if (state.unavailable !== undefined) throw new NodeError("Unavailable", state.unavailable);
  node.search.start([def]);
  return state;
}
