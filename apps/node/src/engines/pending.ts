import type { WalEntry } from "@proximadb/wal";

/** The newest version of a record the index does not hold yet (`vector` undefined: a delete). */
export interface PendingVersion {
  /** WAL sequence of the version. */
  readonly seq: number;
  readonly vector: Float32Array | undefined;
  readonly metadata: Record<string, unknown> | null;
}

/** What one index catch-up takes out of {@link PendingRecords}. */
export interface PendingBatch {
  readonly puts: { id: string; vector: Float32Array }[];
  readonly deletes: string[];
  /** The versions taken, released once the index holds them. */
  readonly taken: ReadonlyMap<string, number>;
}

/**
 * The record versions of one collection applied to memory and not yet in its index: written since the
 * last flush, or flushed and waiting for the index builder. Searches rank them by exact distance beside
 * the index's hits, and an id here hides the index's (older) version of it.
 */
export class PendingRecords {
  readonly versions = new Map<string, PendingVersion>();
  /** Highest WAL sequence noted. */
  highest = 0;

  /** Notes WAL-ordered entries (sequences `first`, `first + 1`, …). */
  note(first: number, entries: readonly WalEntry[]): void {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as WalEntry;
      const seq = first + i;
      const prev = this.versions.get(e.id);
      if (prev && prev.seq > seq) continue;
      const metadata = (e.metadata ?? null) as Record<string, unknown> | null;
      this.versions.set(e.id, { seq, vector: e.op === "delete" ? undefined : e.vector, metadata });
    }
    if (entries.length > 0) this.highest = Math.max(this.highest, first + entries.length - 1);
  }

  /**
   * The versions at or below `upTo` (flushed: the engine's files hold them). `indexable` says which
   * vectors the index can take; the others go to the index as deletes (their older version must go).
   */
  take(upTo: number, indexable: (v: Float32Array) => boolean): PendingBatch {
    const puts: PendingBatch["puts"] = [];
    const deletes: string[] = [];
    const taken = new Map<string, number>();
    for (const [id, v] of this.versions) {
      if (v.seq > upTo) continue;
      taken.set(id, v.seq);
      if (v.vector && indexable(v.vector)) puts.push({ id, vector: v.vector });
      else deletes.push(id);
    }
    return { puts, deletes, taken };
  }

  /** Forgets the taken versions that no newer write replaced. */
  release(taken: ReadonlyMap<string, number>): void {
    for (const [id, seq] of taken) if (this.versions.get(id)?.seq === seq) this.versions.delete(id);
  }
}
