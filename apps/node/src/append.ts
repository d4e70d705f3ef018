import type { WalEntry, WriteAheadLog } from "@proximadb/wal";
import type { CollectionState } from "./collection-state.js";
import { NodeError, durabilityUnknown } from "./errors.js";
import type { Maintenance } from "./maintenance.js";
import type { NodeMetrics } from "./metrics.js";

/** What an append needs of the node. */
export interface AppendContext {
  readonly wal: WriteAheadLog;
  readonly flushThresholdBytes: number;
  readonly metrics: NodeMetrics | undefined;
  readonly maintenance: Maintenance;
}

/**
 * Appends entries to the collection's WAL and applies them to memory in WAL order (joining `tail`);
 * resolves once they are durable and applied. A failed apply is the engine's (reported by maintenance),
 * not the write's: the entries are durable. Schedules a flush past the threshold.
 * @throws NodeError `NotFound` (dropped meanwhile); the WAL's failure (retryable when durability is unknown)
 */
export async function appendEntries(
  c: AppendContext,
  state: CollectionState,
  entries: WalEntry[],
): Promise<void> {
  await state.passGate();
  if (state.dropped) throw new NodeError("NotFound", `collection ${state.definition.id} was dropped`);
  if (state.unavailable !== undefined)
    throw new NodeError(
      "Unavailable",
      `collection ${state.definition.id} is unavailable: ${state.unavailable}`,
    );
  const threshold = c.flushThresholdBytes;
  // Backpressure: when flushes fall far behind, writers wait for the one in progress.
  if (state.bufferedBytes > threshold * 4 && state.flushing) await state.flushing.catch(() => undefined);
  const t0 = performance.now();
  state.inflight++;
  const durable = c.wal.append(state.definition.id, entries);
  const applied = state.tail.then(async () => {
    const { first } = await durable;
    c.metrics?.walSyncSeconds.observe((performance.now() - t0) / 1000);
    try {
      await state.apply(first, entries);
    } catch (err) {
      // Durable in the WAL: acknowledged. The failure is the engine's, reported where it happened.
      c.maintenance.applyFailed(state, err);
    }
  });
  state.tail = applied.catch(() => undefined);
  try {
    await applied;
  } catch (err) {
    throw durabilityUnknown(state.definition.id, err);
  } finally {
    state.inflight--;
  }
  c.metrics?.recordsWritten.inc(entries.length);
  if (state.bufferedBytes >= threshold && !state.flushing) c.maintenance.schedule(state, "threshold");
}
