import type { CollectionState } from "../collection-state.js";

/**
 * Runs `work` with the collection's writes held: appends wait at the collection's gate (its `fence`),
 * every append, flush and compaction started before has settled, and no flush or compaction starts
 * until the fence opens (they wait on `flushing` / `compacting`, which the fence occupies). Reads go on.
 *
 * When `work` fails after `keepClosed()` returned true (a move committed but could not switch over) the
 * collection is marked unavailable (appends waiting at the fence and every later one answer 503) and its
 * flushes and compactions stay held: writing to the old copy then would lose those writes when the next
 * start finishes the move. `onHeld` receives the function that lets them go (at shutdown).
 */
export async function fenceWrites<T>(
  state: CollectionState,
  work: () => Promise<T>,
  keepClosed: () => boolean,
  onHeld: (release: () => void) => void = () => undefined,
): Promise<T> {
  while (state.fence) await state.fence;
  let open!: () => void;
  const fence = new Promise<void>((r) => {
    open = r;
  });
  state.fence = fence;
  let held = false;
  try {
    // An append that passed the gate just before it closed is counted in `inflight` within a few
    // microtasks: settle, yield a macrotask, and repeat until nothing is in flight.
    for (;;) {
      await state.settle();
      await new Promise((r) => setImmediate(r));
      if (state.inflight === 0 && !state.flushing && !state.compacting) break;
    }
    state.flushing = fence;
    state.compacting = fence;
    return await work();
  } catch (err) {
    if (keepClosed()) {
      held = true;
      state.unavailable = `a move committed but did not finish (${err instanceof Error ? err.message : String(err)}); restart the node to finish it`;
      let letGo!: () => void;
      const hold = new Promise<void>((r) => {
        letGo = r;
      });
      state.flushing = hold;
      state.compacting = hold;
      onHeld(() => {
        state.dropped = true; // queued background work bails out; nothing more is written
        letGo();
      });
    }
    throw err;
  } finally {
    if (!held) {
      if (state.flushing === fence) state.flushing = undefined;
      if (state.compacting === fence) state.compacting = undefined;
    }
    state.fence = undefined;
    open();
  }
}
