import type { CollectionId } from "@proximadb/core";
import type { Logger } from "pino";
import type { CollectionCatalog } from "./catalog.js";
import type { CollectionState } from "./collection-state.js";
import type { NodeConfig } from "./config.js";
import { describe } from "./errors.js";
import type { NodeMetrics } from "./metrics.js";

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
    while (state.flushing) await state.flushing.catch(() => undefined);
    let result: FlushResult = { records: 0, checkpoint: 0 };
    const run = (async () => {
      const { upTo, records, frozen } = await snapshot(state);
      try {
        await frozen.write();
      } catch (err) {
        frozen.restore();
        state.bufferedRecords += records;
        throw err;
      }
      const id = state.definition.id;
      if (upTo > state.checkpointed) {
        await this.#o.catalog.setCheckpoint(id, upTo);
        state.checkpointed = upTo;
        await this.#o.checkpointWal(id, upTo);
      }
      this.#o.metrics?.flushes.inc({ engine: state.definition.engine, trigger });
      result = { records, checkpoint: upTo };
    })();
    state.flushing = run;
    try {
      await run;
    } finally {
      if (state.flushing === run) state.flushing = undefined;
    }
    return result;
  }

  /** Compacts the collection's engine files; resolves to the number of live files after it. */
  async compact(state: CollectionState, trigger: string): Promise<{ files: number }> {
    while (state.compacting) await state.compacting.catch(() => undefined);
    const { definition: def, engine } = state;
    const run = (async () => {
      await engine.compact(def.id);
      this.#o.metrics?.compactions.inc({ engine: def.engine, trigger });
    })();
    state.compacting = run;
    try {
      await run;
    } finally {
      if (state.compacting === run) state.compacting = undefined;
    }
    return { files: await engine.files(def.id) };
  }

  /**
   * Queues a background flush of a collection past the flush threshold (and a compaction when the flush
   * leaves `compact_file_count` files). One background job at a time keeps memory and disk bandwidth
   * bounded on small machines.
   */
  schedule(state: CollectionState, trigger: string): void {
    if (this.#o.closing() || state.dropped) return;
    const { engine: limits } = this.#o.config;
    this.#background = this.#background.then(async () => {
      if (this.#o.closing() || state.dropped || state.bufferedBytes < limits.flushThresholdBytes) return;
      try {
        await this.flush(state, trigger);
        if ((await state.engine.files(state.definition.id)) >= limits.compactFileCount)
          await this.compact(state, "file-count");
      } catch (err) {
        this.#o.metrics?.failures.inc({ operation: "flush" });
        this.#o.logger.error(
          { collection: state.definition.id, err: describe(err) },
          "background flush failed",
        );
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

  /** Stops the timer and waits for the queued background jobs. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#background.catch(() => undefined);
  }
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
    state.bufferedBytes = 0;
    state.bufferedRecords = 0;
    return { upTo, records, frozen: state.engine.freeze(state.definition.id) };
  } finally {
    state.gate = undefined;
    release();
  }
}
