import type { AssignmentStore } from "@proximadb/core";
import { type MoveRecovery, recoverMoves } from "@proximadb/mover";
import type { Logger } from "pino";
import type { OpenRoots } from "../startup.js";

/**
 * The recovery rule of moves (see `@proximadb/mover`), run at start before discovery: every uncommitted
 * move is rolled back (its incoming copy deleted, the source stays live), every committed one finished
 * (promoted, source retired, a shared store reassigned), retired copies deleted. A per-process store is
 * rebuilt from discovery afterwards and needs no reassignment.
 */
export async function finishMovesAtStart(
  roots: OpenRoots,
  store: AssignmentStore,
  logger: Logger,
): Promise<MoveRecovery> {
  const recovery = await recoverMoves({
    roots: roots.byUrl,
    ...(store.authoritative && store.reassign
      ? {
          reassign: async (r) => {
            const res = await (store.reassign as NonNullable<AssignmentStore["reassign"]>)(
              r.component,
              r.collection,
              r.from,
              r.to,
            );
            if (res.assignment?.url !== r.to)
              logger.warn(
                { collection: r.collection, component: r.component, stored: res.assignment?.url, to: r.to },
                "finished move: the store names another root",
              );
          },
        }
      : {}),
  });
  for (const r of recovery.finished)
    logger.info(
      { move: r.id, collection: r.collection, component: r.component, from: r.from, to: r.to },
      "committed move finished at start",
    );
  for (const r of recovery.rolledBack)
    logger.info({ collection: r.collection, root: r.root }, "uncommitted move rolled back at start");
  for (const p of recovery.pending) logger.warn(p, "move recovery pending");
  return recovery;
}
