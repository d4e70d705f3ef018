import { isFsError } from "@proximadb/core";
import type { WalEntry } from "@proximadb/wal";
import {
  type CollectionDefinition,
  type RecordInput,
  type RecordOutput,
  recordIdProblem,
} from "./collection.js";
import { NodeError } from "./errors.js";
import type { RecordEngine } from "./engines/registry.js";

/** Background work that can fail and leave a collection degraded. */
export type MaintenanceOperation = "flush" | "compaction";

/** A failed flush or compaction, kept until the same operation succeeds (retried with backoff). */
export interface Degradation {
  readonly operation: MaintenanceOperation;
  /** Secret-free description of the last failure. */
  readonly error: string;
  /** ISO-8601 time of the first failure in a row. */
  readonly since: string;
  /** Failures in a row. */
  readonly failures: number;
}

/** Rough in-memory size of one record, for the flush threshold. */
export function recordBytes(id: string, vector: Float32Array | undefined, metadataJson: number): number {
  return 64 + id.length * 2 + (vector ? vector.byteLength : 0) + metadataJson;
}

/** How a collection is doing, as `GET /collections/:id` shows it. */
export interface HealthView {
  readonly state: "ready" | "degraded" | "unavailable";
  /** Why it is unavailable. */
  readonly reason?: string;
  /** Its failing background work. */
  readonly degraded?: Degradation[];
}

/** Puts of the API as WAL entries. @throws NodeError `InvalidArgument` for a vector of another dimension */
export function toWalEntries(records: readonly RecordInput[], dimension: number): WalEntry[] {
  return records.map((r, i) => {
    if (r.vector.length !== dimension)
      throw new NodeError(
        "InvalidArgument",
        `records[${i}]: vector has ${r.vector.length} values; the collection's dimension is ${dimension}`,
      );
    const m = r.metadata;
    return {
      op: "put",
      id: r.id,
      vector: Float32Array.from(r.vector),
      ...(m === undefined || m === null ? {} : { metadata: m as never }),
    };
  });
}

/**
 * What the node keeps per collection between flushes, whatever its engine.
 *
 * Writes are applied to memory in WAL order: every append joins `tail`, a promise chain, so records
 * acknowledged by the WAL reach the engine's memory in the order of their sequences, while the WAL itself
 * still groups concurrent appends into one fsync. `gate` is closed while a flush takes its snapshot (the
 * flush protocol is in `maintenance.ts`).
 */
export class CollectionState {
  /** Tail of the apply chain. */
  tail: Promise<void> = Promise.resolve();
  /** Highest WAL sequence applied to memory. */
  lastApplied = 0;
  /** WAL sequence of the last checkpoint written (everything up to it is in the engine's files). */
  checkpointed = 0;
  /** Approximate bytes written since the last flush. */
  bufferedBytes = 0;
  /** Records written since the last flush. */
  bufferedRecords = 0;
  /** The flush in progress. */
  flushing: Promise<unknown> | undefined;
  /** The compaction in progress. */
  compacting: Promise<unknown> | undefined;
  /** Closed while a flush takes its snapshot. */
  gate: Promise<void> | undefined;
  /** Closed while a move switches the collection's component to another root (see `moves/fence.ts`). */
  fence: Promise<void> | undefined;
  /** Set once a drop started: no more writes. */
  dropped = false;
  /**
   * Set once this node stopped serving the collection (its ownership was lost, see
   * `StorageNode.relinquish`): the engines forget its memory, so no flush, compaction or WAL checkpoint
   * of this state may run any more (a checkpoint would name records no engine file holds).
   */
  released = false;
  /** Dropped or released: no background work of this state may run any more. */
  get retired(): boolean {
    return this.dropped || this.released;
  }
  /** Appends started and not yet applied (for a clean drain). */
  inflight = 0;
  /** Failed background work, by operation (writes go on; reads are served; retried with backoff). */
  readonly degraded = new Map<MaintenanceOperation, Degradation>();
  /** Why the collection is not served (reads and writes answer 503), when it is not. */
  unavailable: string | undefined;
  /** The pending retry of failed background work. */
  retry: NodeJS.Timeout | undefined;
  /** Reads of the collection's files in flight (record gets, searches), see {@link read}. */
  readonly #reads = new Set<Promise<unknown>>();

  constructor(
    readonly definition: CollectionDefinition,
    /** The engine that keeps the collection's records. */
    readonly engine: RecordEngine,
  ) {}

  /** Waits until no flush is taking its snapshot and no move holds the collection's writes. */
  async passGate(): Promise<void> {
    while (this.gate || this.fence) await (this.gate ?? this.fence);
  }

  /** Applies WAL-ordered entries (sequences `first`, …) to the engine's memory and counts them. */
  async apply(first: number, entries: readonly WalEntry[]): Promise<void> {
    let bytes = 0;
    for (const e of entries) bytes += recordBytes(e.id, e.vector, e.metadata ? 64 : 0);
    await this.engine.apply(this.definition.id, first, entries);
    this.bufferedBytes += bytes;
    this.bufferedRecords += entries.length;
    this.lastApplied = Math.max(this.lastApplied, first + entries.length - 1);
  }

  /** `ready`, `degraded` (background work failing) or `unavailable` (not served), as the API shows it. */
  get health(): HealthView["state"] {
    if (this.unavailable !== undefined) return "unavailable";
    return this.degraded.size > 0 ? "degraded" : "ready";
  }

  /** The health with its reason or failures. */
  healthView(): HealthView {
    return {
      state: this.health,
      ...(this.unavailable === undefined ? {} : { reason: this.unavailable }),
      ...(this.degraded.size === 0 ? {} : { degraded: [...this.degraded.values()] }),
    };
  }

  /**
   * Runs a read of the collection's files (a record get, a search) and counts it while it runs, so a move
   * retires the source copy only once the reads begun before its switch-over ended ({@link readsSettled}).
   */
  read<T>(work: () => Promise<T>): Promise<T> {
    const p = work();
    this.#reads.add(p);
    const done = () => {
      this.#reads.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /** The record `recordId` from the engine (memory or its files), read as a {@link read}. @throws NodeError `NotFound` */
  async record(recordId: string): Promise<RecordOutput> {
    const id = this.definition.id;
    const found = recordIdProblem(recordId) ? undefined : await this.read(() => this.#get(id, recordId));
    if (!found) throw new NodeError("NotFound", `record ${JSON.stringify(recordId)} not found in ${id}`);
    return found;
  }

  /**
   * The engine's get, once more when a file it read vanished under it: a move's retirement deletes (S3,
   * Azure) or renames the source copy right after the switch-over, and a get that still read the old copy
   * then finds the collection where it is now (seen on Azurite: 500 `BlobNotFound` during an LSM move).
   */
  async #get(id: CollectionDefinition["id"], recordId: string): Promise<RecordOutput | undefined> {
    try {
      return await this.engine.get(id, recordId);
    } catch (err) {
      if (!isFsError(err, "NotFound")) throw err;
      return this.engine.get(id, recordId);
    }
  }

  /** Resolves once every read in flight now has ended (reads begun later are not waited for). */
  async readsSettled(): Promise<void> {
    await Promise.allSettled([...this.#reads]);
  }

  /**
   * This node stops serving the collection (ownership lost): marks it {@link released} (queued flushes,
   * compactions and retries bail out, none writes a checkpoint), then waits for what is in flight.
   */
  async release(): Promise<void> {
    this.released = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.settle();
  }

  /** Waits for every write, flush and compaction in flight to settle. */
  async settle(): Promise<void> {
    await this.tail;
    await this.flushing?.catch(() => undefined);
    await this.compacting?.catch(() => undefined);
  }
}

/** Collections by state, for the `proximadb_collections{state}` gauge. */
export function countStates(states: Iterable<CollectionState>, dropping: number): Record<string, number> {
  const out: Record<string, number> = { ready: 0, degraded: 0, unavailable: 0, dropping };
  for (const s of states) out[s.health] = (out[s.health] ?? 0) + 1;
  return out;
}
