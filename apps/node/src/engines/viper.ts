import type { CollectionId } from "@proximadb/core";
import { type VectorRecord, ViperEngine } from "@proximadb/viper";
import type { WalEntry } from "@proximadb/wal";
import type { RecordOutput } from "../collection.js";
import type { ComponentStore } from "./component-store.js";
import type { FrozenRecords, RecordEngine, RecordEngineOptions, ScannedRecord } from "./types.js";

/** One record version held in memory until the next flush. */
export interface BufferedRecord {
  /** WAL sequence of the version: a later sequence always wins. */
  readonly seq: number;
  readonly vector: Float32Array | undefined;
  readonly metadata: Record<string, unknown> | null;
  readonly deleted: boolean;
}

/**
 * The record versions of one VIPER collection since its last flush. VIPER writes whole Parquet files,
 * so the node buffers versions here; a flush freezes the buffer (still readable) and writes it.
 */
export class VersionBuffer {
  /** Versions written since the last freeze. */
  live = new Map<string, BufferedRecord>();
  /** The versions being flushed. */
  frozen: Map<string, BufferedRecord> | undefined;

  /** Keeps a version unless a newer one of the same id is there. */
  put(id: string, rec: BufferedRecord): void {
    const prev = this.live.get(id);
    if (prev && prev.seq > rec.seq) return;
    this.live.set(id, rec);
  }

  /** The newest buffered version of a record (live first, then frozen). */
  lookup(id: string): BufferedRecord | undefined {
    return this.live.get(id) ?? this.frozen?.get(id);
  }

  /** Swaps the live versions out for a flush. */
  freeze(): ReadonlyMap<string, BufferedRecord> {
    this.frozen = this.live;
    this.live = new Map();
    return this.frozen;
  }

  /** Puts a failed flush's versions back under newer writes. */
  unfreeze(): void {
    const frozen = this.frozen;
    this.frozen = undefined;
    if (!frozen) return;
    for (const [id, r] of frozen) this.put(id, r);
  }
}

/** The frozen versions as VIPER flush input. */
export function toVectorRecords(frozen: ReadonlyMap<string, BufferedRecord>): VectorRecord[] {
  const out: VectorRecord[] = [];
  for (const [id, r] of frozen)
    out.push(
      r.deleted ? { id, deleted: true } : { id, vector: r.vector as Float32Array, metadata: r.metadata },
    );
  return out;
}

/** VIPER as a {@link RecordEngine}: versions buffered in memory, flushed as one Parquet file each time. */
class ViperRecords implements RecordEngine {
  readonly kind = "viper" as const;
  readonly store: ComponentStore;
  /** VIPER runs no background work of its own: never called. */
  onBackgroundFailure: RecordEngine["onBackgroundFailure"];
  readonly #viper: ViperEngine;
  readonly #buffers = new Map<CollectionId, VersionBuffer>();

  constructor(viper: ViperEngine) {
    this.#viper = viper;
    this.store = viper;
  }

  async create(id: CollectionId, dimension: number): Promise<void> {
    await this.#viper.createCollection(id, { dimension });
  }

  async apply(id: CollectionId, first: number, entries: readonly WalEntry[]): Promise<void> {
    const buffer = this.#buffer(id);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as WalEntry;
      const metadata = (e.metadata ?? null) as Record<string, unknown> | null;
      buffer.put(e.id, { seq: first + i, vector: e.vector, metadata, deleted: e.op === "delete" });
    }
  }

  async get(id: CollectionId, recordId: string): Promise<RecordOutput | undefined> {
    const buffered = this.#buffers.get(id)?.lookup(recordId);
    if (buffered) {
      if (buffered.deleted) return undefined;
      const vector = Array.from(buffered.vector as Float32Array);
      return { id: recordId, vector, metadata: buffered.metadata };
    }
    const stored = await this.#viper.get(id, recordId);
    return stored && { id: recordId, vector: Array.from(stored.vector), metadata: stored.metadata };
  }

  async *scan(id: CollectionId): AsyncGenerator<ScannedRecord> {
    for await (const r of this.#viper.scan(id)) yield { id: r.id, vector: r.vector, metadata: r.metadata };
  }

  freeze(id: CollectionId): FrozenRecords {
    const buffer = this.#buffer(id);
    const frozen = buffer.freeze();
    return {
      write: async () => {
        if (frozen.size > 0) await this.#viper.flush(id, toVectorRecords(frozen));
        buffer.frozen = undefined;
      },
      restore: () => buffer.unfreeze(),
    };
  }

  async compact(id: CollectionId): Promise<void> {
    await this.#viper.compact(id);
  }

  async files(id: CollectionId): Promise<number> {
    return (await this.#viper.files(id))?.live.length ?? 0;
  }

  async drop(id: CollectionId): Promise<void> {
    this.#buffers.delete(id);
    await this.#viper.drop(id);
  }

  close(): Promise<void> {
    return this.#viper.close();
  }

  #buffer(id: CollectionId): VersionBuffer {
    let buffer = this.#buffers.get(id);
    if (!buffer) {
      buffer = new VersionBuffer();
      this.#buffers.set(id, buffer);
    }
    return buffer;
  }
}

/** Opens VIPER over its roots. */
export async function openViperRecords(options: RecordEngineOptions): Promise<RecordEngine> {
  const { config: _config, ...base } = options;
  return new ViperRecords(await ViperEngine.open(base));
}
