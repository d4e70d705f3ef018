import type { ComponentType } from "@proximadb/core";
import type { StorageNode } from "../node.js";
import { withConfiguredRoot, writeCordon } from "./cordon.js";
import type { MoveView, NodeMoves } from "./manager.js";

/** What `POST /roots/drain` started. */
export interface DrainView {
  readonly url: string;
  /** Components that have this root (each one cordoned now). */
  readonly components: ComponentType[];
  /** One move per collection component on the root. */
  readonly moves: MoveView[];
  /** Collection components left on the root, and why (a component that cannot move, no definition). */
  readonly skipped: { collection: string; component: ComponentType; reason: string }[];
}

/**
 * Drains a root: cordons it in every component that has it (no new collection is placed there) — durably:
 * its `_cordon.json` (see `./cordon.ts`) keeps it cordoned across restarts until it is un-cordoned — and
 * starts a move of every
 * collection component on it to the root the component's strategy now chooses (round-robin positions
 * advance from one collection to the next). The moves run through {@link NodeMoves} (its concurrency cap).
 * @throws NodeError `InvalidArgument` for a URL that is no configured root, `Unavailable` while the root
 *   may not be written (offline: nothing is written, no move starts)
 */
export async function startDrain(node: StorageNode, moves: NodeMoves, rawUrl: string): Promise<DrainView> {
  // The record first: once the drain is acknowledged, a restart finds the root cordoned.
  const { url, components } = await withConfiguredRoot(node, rawUrl, "drain", async (root) => {
    await writeCordon(root.fs, "drain");
    return root;
  });
  const service = node.service;
  for (const c of components) service.setRootState(c, url, "cordoned");
  const started: MoveView[] = [];
  const skipped: DrainView["skipped"] = [];
  for (const component of components) {
    let cursor = 0;
    const here = service.list(component).filter((a) => a.url === url);
    for (const a of here.sort((x, y) => (x.collection < y.collection ? -1 : 1))) {
      try {
        const to = service.preview(a.collection, component, cursor++);
        started.push(moves.start({ collection: a.collection, component, to }));
      } catch (err) {
        skipped.push({ collection: a.collection, component, reason: (err as Error).message });
      }
    }
  }
  return { url, components, moves: started, skipped };
}
