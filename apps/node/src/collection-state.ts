import type { WalEntry } from "@proximadb/wal";
import type { CollectionDefinition, RecordInput } from "./collection.js";
import { NodeError } from "./errors.js";
import type { RecordEngine } from "./engines/registry.js";

/** Rough in-memory size of one record, for the flush threshold. */
export function recordBytes(id: string, vector: Float32Array | undefined, metadataJson: number): number {
  return 64 + id.length * 2 + (vector ? vector.byteLength : 0) + metadataJson;
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
  flushing: Promise<void> | undefined;
  /** The compaction in progress. */
  compacting: Promise<void> | undefined;
  /** Closed while a flush takes its snapshot. */
  gate: Promise<void> | undefined;
  /** Set once a drop started: no more writes. */
  dropped = false;
  /** Appends started and not yet applied (for a clean drain). */
  inflight = 0;

  constructor(
    readonly definition: CollectionDefinition,
    /** The engine that keeps the collection's records. */
    readonly engine: RecordEngine,
  ) {}

  /** Waits until no flush is taking its snapshot. */
  async passGate(): Promise<void> {
    while (this.gate) await this.gate;
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

  /** Waits for every write, flush and compaction in flight to settle. */
  async settle(): Promise<void> {
    await this.tail;
    await this.flushing?.catch(() => undefined);
    await this.compacting?.catch(() => undefined);
  }
}

/** The WAL entries of a put; every vector must have the collection's dimension. @throws NodeError `InvalidArgument` */
export function putEntries(records: readonly RecordInput[], dimension: number): WalEntry[] {
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
