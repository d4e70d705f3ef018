import type { VectorRecord } from "@proximadb/viper";
import type { CollectionDefinition } from "./collection.js";

/** One record version held in memory until the next flush (VIPER collections). */
export interface BufferedRecord {
  /** WAL sequence of the version: a later sequence always wins. */
  readonly seq: number;
  readonly vector: Float32Array | undefined;
  readonly metadata: Record<string, unknown> | null;
  readonly deleted: boolean;
}

/** Rough in-memory size of one record, for the flush threshold. */
export function recordBytes(id: string, vector: Float32Array | undefined, metadataJson: number): number {
  return 64 + id.length * 2 + (vector ? vector.byteLength : 0) + metadataJson;
}

/**
 * What the node keeps per collection between flushes.
 *
 * Writes are applied to memory in WAL order: every append joins `tail`, a promise chain, so records
 * acknowledged by the WAL reach the buffer (VIPER) or the memtable (LSM) in the order of their
 * sequences, while the WAL itself still groups concurrent appends into one fsync.
 *
 * A flush closes `gate` (new appends wait), waits for `tail` (every started append applied), notes
 * `lastApplied` as the checkpoint, swaps the buffer out (VIPER) and reopens the gate: the WAL can then
 * be checkpointed up to exactly what the flush wrote.
 */
export class CollectionState {
  /** Tail of the apply chain. */
  tail: Promise<void> = Promise.resolve();
  /** Highest WAL sequence applied to memory. */
  lastApplied = 0;
  /** WAL sequence of the last checkpoint written (everything up to it is in the engine's files). */
  checkpointed = 0;
  /** Records buffered since the last flush (VIPER). */
  buffer = new Map<string, BufferedRecord>();
  /** The buffer being flushed (still readable until the flush commits). */
  frozen: Map<string, BufferedRecord> | undefined;
  /** Approximate bytes written since the last flush (both engines). */
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

  constructor(readonly definition: CollectionDefinition) {}

  /** Waits until no flush is taking its snapshot. */
  async passGate(): Promise<void> {
    while (this.gate) await this.gate;
  }

  /** Applies one record version to the VIPER buffer unless a newer one is there. */
  bufferPut(id: string, rec: BufferedRecord): void {
    const prev = this.buffer.get(id);
    if (prev && prev.seq > rec.seq) return;
    this.buffer.set(id, rec);
  }

  /** The newest buffered version of a record (buffer first, then the one being flushed). */
  lookup(id: string): BufferedRecord | undefined {
    return this.buffer.get(id) ?? this.frozen?.get(id);
  }

  /** The frozen buffer as VIPER flush input. */
  static toVectorRecords(frozen: ReadonlyMap<string, BufferedRecord>): VectorRecord[] {
    const out: VectorRecord[] = [];
    for (const [id, r] of frozen) {
      out.push(
        r.deleted ? { id, deleted: true } : { id, vector: r.vector as Float32Array, metadata: r.metadata },
      );
    }
    return out;
  }

  /** Puts a failed flush's records back under newer writes. */
  unfreeze(): void {
    const frozen = this.frozen;
    this.frozen = undefined;
    if (!frozen) return;
    for (const [id, r] of frozen) this.bufferPut(id, r);
  }
}
