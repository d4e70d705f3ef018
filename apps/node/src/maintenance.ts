import type { CollectionId } from "@proximadb/core";
import type { Logger } from "pino";
import type { CollectionCatalog } from "./catalog.js";
import type { CollectionState, MaintenanceOperation } from "./collection-state.js";
import type { NodeConfig } from "./config.js";
import type { RecordEngine } from "./engines/registry.js";
import { NodeError, describe } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";

const MAX_RETRY_MS = 60_000;

/** What a flush did: records it took from memory, and the WAL sequence the checkpoint now names. */
export interface FlushResult {
  readonly records: number;
  readonly checkpoint: number;
}

/** What maintenance needs of the node. */
export interface MaintenanceOptions {
  readonly config: NodeConfig;
  readonly catalog: CollectionCatalog;
  /** Deletes the WAL segments whose records all have a sequence at or below `sequence`. */
  readonly checkpointWal: (id: CollectionId, sequence: number) => Promise<unknown>;
  /** The WAL writer epoch of the collection (stored with its checkpoint). */
  readonly walEpoch?: (id: CollectionId) => number;
  readonly logger: Logger;
  readonly metrics: NodeMetrics | undefined;
  /** True once the node is closing: background work stops being scheduled. */
  readonly closing: () => boolean;
}

/**
 * Flushes and compactions of collections, on request and in the background.
 *
 * The flush protocol: close the collection's gate (new appends wait), wait for `tail` (every started
 * append applied), note `lastApplied` as the checkpoint, let the engine freeze what its memory holds,
 * reopen the gate; write the frozen records into the engine's files; then write the WAL checkpoint in
 * the catalog and delete the WAL segments it covers. A crash anywhere in between only means replaying
 * more at the next open (replays are idempotent); a failed write puts the frozen records back.
 *
 * Failures land where they happened: a failed flush or compaction marks the collection degraded (shown
 * by `GET /collections/:id`, counted in `proximadb_background_failures_total` and
 * `proximadb_collections{state}`, logged) and is retried with backoff until it succeeds; writes, already
 * durable in the WAL, go on and are never failed by it.
 */
export class Maintenance {
  readonly #o: MaintenanceOptions;
  #background = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: MaintenanceOptions) {
    this.#o = options;
  }

  /** Writes what memory holds into the engine, then checkpoints the WAL. Waits for a flush in progress. */
  async flush(state: CollectionState, trigger: string): Promise<FlushResult> {
    return this.#exclusive(state, "flushing", "flush", async () => {
      assertServed(state);
      const { upTo, records, bytes, frozen } = await snapshot(state);
      try {
        await frozen.write();
      } catch (err) {
        frozen.restore();
        state.bufferedRecords += records;
        state.bufferedBytes += bytes;
        throw err;
      }
      const id = state.definition.id;
      // Released while it wrote: the engine may have written nothing (it forgot the collection's memory).
      assertServed(state);
      if (upTo > state.checkpointed) {
        await this.#o.catalog.setCheckpoint(id, upTo, this.#o.walEpoch?.(id) ?? 0);
        state.checkpointed = upTo;
        await this.#o.checkpointWal(id, upTo);
      }
      this.#o.metrics?.flushes.inc({ engine: state.definition.engine, trigger });
      return { records, checkpoint: upTo };
    });
  }

  /** Compacts the collection's engine files; resolves to the number of live files after it. */
  async compact(state: CollectionState, trigger: string): Promise<{ files: number }> {
    const { definition: def, engine } = await this.#exclusive(state, "compacting", "compaction", async () => {
      assertServed(state);
      const { definition, engine } = state;
      await engine.compact(definition.id);
      this.#o.metrics?.compactions.inc({ engine: definition.engine, trigger });
      return { definition, engine };
    });
    return { files: await engine.files(def.id) };
  }

  /**
   * Runs `work` as the collection's one operation in `slot` (waiting for the one in progress first), so
   * that others, and a move's fence, can wait on it; a failure marks the collection degraded (and is
   * rethrown), a success clears what an earlier failure of `operation` marked.
   */
  async #exclusive<T>(
    state: CollectionState,
    slot: "flushing" | "compacting",
    operation: MaintenanceOperation,
    work: () => Promise<T>,
  ): Promise<T> {
    for (let busy = state[slot]; busy; busy = state[slot]) await busy.catch(() => undefined);
    const run = work();
    state[slot] = run;
    try {
      const result = await run;
      this.#recovered(state, operation);
      return result;
    } catch (err) {
      this.failed(state, operation, err);
      throw err;
    } finally {
      if (state[slot] === run) state[slot] = undefined;
    }
  }

  /**
   * Marks the collection degraded by a failed flush or compaction (its own, or the engine's background
   * work reported later) and schedules a retry with backoff: `background_interval_ms` doubled per
   * failure in a row, at most a minute.
   */
  failed(state: CollectionState, operation: MaintenanceOperation, err: unknown): void {
    if (state.retired) return;
    const prev = state.degraded.get(operation);
    const failures = (prev?.failures ?? 0) + 1;
    state.degraded.set(operation, {
      operation,
      error: describe(err),
      since: prev?.since ?? new Date().toISOString(),
      failures,
    });
    const delay = Math.min(this.#o.config.engine.backgroundIntervalMs * 2 ** (failures - 1), MAX_RETRY_MS);
    this.#o.metrics?.failures.inc({ operation });
    this.#o.logger.error(
      { collection: state.definition.id, operation, failures, retryInMs: delay, err: describe(err) },
      "collection degraded: background work failed; retried",
    );
    if (state.retry || this.#o.closing()) return;
    state.retry = setTimeout(() => {
      state.retry = undefined;
      this.#retry(state);
    }, delay);
    state.retry.unref();
  }

  /** Routes the record engines' own background failures (found after the fact) to {@link failed}. */
  watchEngines(engines: readonly RecordEngine[], stateOf: (id: string) => CollectionState | undefined): void {
    for (const engine of engines)
      engine.onBackgroundFailure = (id, err) => {
        const state = stateOf(id);
        if (state) this.failed(state, "flush", err);
      };
  }

  /** An apply failed after the WAL made the records durable: memory no longer matches, so the
   * collection stops being served until a restart replays the WAL. */
  applyFailed(state: CollectionState, err: unknown): void {
    if (state.unavailable !== undefined) return;
    state.unavailable = `applying acknowledged records to the engine's memory failed (${describe(err)}); restart the node to replay its WAL`;
    this.#o.metrics?.failures.inc({ operation: "apply" });
    this.#o.logger.error({ collection: state.definition.id, err: describe(err) }, "collection unavailable");
  }

  #recovered(state: CollectionState, operation: MaintenanceOperation): void {
    const was = state.degraded.get(operation);
    if (!was) return;
    state.degraded.delete(operation);
    if (state.degraded.size === 0) {
      clearTimeout(state.retry);
      state.retry = undefined;
    }
    this.#o.logger.info(
      { collection: state.definition.id, operation, failures: was.failures },
      "collection recovered: background work succeeded",
    );
  }

  /** True when no background work of `state` may start: the node closes, or the state is retired. */
  #stopped(state: CollectionState): boolean {
    return this.#o.closing() || state.retired;
  }

  /** Retries the failed operations of a degraded collection (flush first), one background job. */
  #retry(state: CollectionState): void {
    if (this.#stopped(state) || state.unavailable !== undefined) return;
    this.#background = this.#background.then(async () => {
      if (this.#stopped(state)) return;
      try {
        if (state.degraded.has("flush")) await this.flush(state, "retry");
        if (state.degraded.has("compaction")) await this.compact(state, "retry");
      } catch {
        // Marked again (with the next retry scheduled) by flush/compact.
      }
    });
  }

  /**
   * Queues a background flush of a collection past the flush threshold (and a compaction when the flush
   * leaves `compact_file_count` files). One background job at a time keeps memory and disk bandwidth
   * bounded on small machines. A degraded collection waits for its retry (backoff) instead.
   */
  schedule(state: CollectionState, trigger: string): void {
    if (this.#stopped(state) || state.retry || state.unavailable !== undefined) return;
    const { engine: limits } = this.#o.config;
    this.#background = this.#background.then(async () => {
      if (this.#stopped(state) || state.retry) return;
      if (state.bufferedBytes < limits.flushThresholdBytes) return;
      try {
        await this.flush(state, trigger);
        if ((await state.engine.files(state.definition.id)) >= limits.compactFileCount)
          await this.compact(state, "file-count");
      } catch {
        // Marked degraded, logged and counted by flush/compact; retried with backoff.
      }
    });
  }

  /** Starts the timer that schedules a flush of every collection past the threshold. */
  start(states: () => Iterable<CollectionState>): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      for (const state of states())
        if (state.bufferedBytes >= this.#o.config.engine.flushThresholdBytes && !state.flushing)
          this.schedule(state, "interval");
    }, this.#o.config.engine.backgroundIntervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and the retries, and waits for the queued background jobs. */
  async stop(states: Iterable<CollectionState> = []): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    for (const s of states) clearTimeout(s.retry);
    await this.#background.catch(() => undefined);
  }
}

/**
 * Refuses a flush or compaction of a collection being dropped (one that waited for the flush in
 * progress would write a checkpoint into the metadata folder the drop deletes: a collection created again
 * under the id would inherit it) or no longer served by this node (its ownership was lost).
 * @throws NodeError `NotFound` (dropped), `Unavailable` (lost)
 */
function assertServed(state: CollectionState): void {
  const id = state.definition.id;
  if (state.dropped) throw new NodeError("NotFound", `collection ${id} was dropped`);
  if (!state.released) return;
  throw new NodeError(
    "Unavailable",
    `collection ${id} is no longer served by this node (its ownership was lost): nothing of it is flushed or checkpointed here; its next owner replays its WAL`,
  );
}

/** The first half of a flush: the gate closed while the applied records are noted and frozen. */
async function snapshot(state: CollectionState) {
  let release!: () => void;
  state.gate = new Promise<void>((r) => {
    release = r;
  });
  try {
    await state.tail;
    const upTo = state.lastApplied;
    const records = state.bufferedRecords;
    const bytes = state.bufferedBytes;
    state.bufferedBytes = 0;
    state.bufferedRecords = 0;
    return { upTo, records, bytes, frozen: state.engine.freeze(state.definition.id) };
  } finally {
    state.gate = undefined;
    release();
  }
}
