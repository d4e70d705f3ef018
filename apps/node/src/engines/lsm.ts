import type { CollectionId } from "@proximadb/core";
import { LsmEngine } from "@proximadb/lsm";
import type { WalEntry } from "@proximadb/wal";
import type { RecordOutput } from "../collection.js";
import type { ComponentStore } from "./component-store.js";
import type { FrozenRecords, RecordEngine, RecordEngineOptions, ScannedRecord } from "./types.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * LSM value of a record: `u32 LE dimension | dimension × f32 LE | metadata as UTF-8 JSON` (the JSON
 * part is empty when the record has no metadata). The key is the record id in UTF-8, so a scan lists
 * records in id order.
 */
export function encodeLsmValue(vector: Float32Array, metadata: unknown): Uint8Array {
  const meta =
    metadata === undefined || metadata === null
      ? new Uint8Array(0)
      : encoder.encode(JSON.stringify(metadata));
  const out = new Uint8Array(4 + vector.length * 4 + meta.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, vector.length, true);
  for (let i = 0; i < vector.length; i++) view.setFloat32(4 + i * 4, vector[i] as number, true);
  out.set(meta, 4 + vector.length * 4);
  return out;
}

/** Decodes {@link encodeLsmValue}. */
export function decodeLsmValue(value: Uint8Array): { vector: Float32Array; metadata: unknown } {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const dim = view.getUint32(0, true);
  const vector = new Float32Array(dim);
  for (let i = 0; i < dim; i++) vector[i] = view.getFloat32(4 + i * 4, true);
  const rest = value.subarray(4 + dim * 4);
  return { vector, metadata: rest.length === 0 ? null : JSON.parse(decoder.decode(rest)) };
}

/** UTF-8 key of a record id. */
export function recordKey(id: string): Uint8Array {
  return encoder.encode(id);
}

/** The LSM tree as a {@link RecordEngine}: records go straight to its memtable; a flush writes an SSTable. */
class LsmRecords implements RecordEngine {
  readonly kind = "lsm" as const;
  readonly store: ComponentStore;
  onBackgroundFailure: RecordEngine["onBackgroundFailure"];
  readonly #lsm: LsmEngine;

  constructor(lsm: LsmEngine) {
    this.#lsm = lsm;
    this.store = lsm;
  }

  async create(): Promise<void> {
    // The tree's directory appears with its first SSTable; the definition pins the placement until then.
  }

  async apply(id: CollectionId, _first: number, entries: readonly WalEntry[]): Promise<void> {
    const ops = entries.map((e) =>
      e.op === "delete"
        ? ({ type: "delete", key: recordKey(e.id) } as const)
        : ({
            type: "put",
            key: recordKey(e.id),
            value: encodeLsmValue(e.vector as Float32Array, e.metadata),
          } as const),
    );
    await this.#past(id, () => this.#lsm.batch(id, ops));
  }

  /**
   * Runs a tree call that may first throw an earlier background failure: the tree keeps a failed
   * background flush or compaction and throws it once, at the next call, before doing anything. That
   * failure is not this call's: it is reported as what it is, and the call runs again.
   */
  async #past(id: CollectionId, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (first) {
      await call();
      this.onBackgroundFailure?.(id, first);
    }
  }

  async get(id: CollectionId, recordId: string): Promise<RecordOutput | undefined> {
    const value = await this.#lsm.get(id, recordKey(recordId));
    if (!value) return undefined;
    const { vector, metadata } = decodeLsmValue(value);
    return { id: recordId, vector: Array.from(vector), metadata: metadata as Record<string, unknown> | null };
  }

  async *scan(id: CollectionId): AsyncGenerator<ScannedRecord> {
    for await (const { key, value } of this.#lsm.scan(id)) {
      const { vector, metadata } = decodeLsmValue(value);
      yield { id: decoder.decode(key), vector, metadata: metadata as Record<string, unknown> | null };
    }
  }

  freeze(id: CollectionId): FrozenRecords {
    // The memtable is the engine's own: the flush writes it as it is then (a superset of what was applied).
    return { write: () => this.#past(id, () => this.#lsm.flush(id)), restore: () => undefined };
  }

  compact(id: CollectionId): Promise<void> {
    return this.#past(id, () => this.#lsm.compact(id));
  }

  async files(id: CollectionId): Promise<number> {
    const stats = await this.#lsm.stats(id);
    return stats ? stats.levels.reduce((n, l) => n + l.length, 0) : 0;
  }

  drop(id: CollectionId): Promise<void> {
    return this.#lsm.drop(id);
  }

  close(): Promise<void> {
    return this.#lsm.close({ flush: false });
  }
}

/** Opens the LSM engine over its roots. */
export async function openLsmRecords(options: RecordEngineOptions): Promise<RecordEngine> {
  const { config, ...base } = options;
  return new LsmRecords(
    await LsmEngine.open({
      ...base,
      // The node decides when to flush (flush_threshold_bytes); the memtable limit is a safety net.
      memtableBytes: Math.max(4 << 20, config.engine.flushThresholdBytes * 2),
    }),
  );
}
