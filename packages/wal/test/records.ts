import type { WalEntry, WalRecord } from "../src/index.js";

/** A deterministic record for number `i`: puts with vector, metadata and sometimes a payload; every 5th a delete. */
export function entry(i: number): WalEntry {
  if (i % 5 === 4) return { op: "delete", id: `v${i}`, timestamp: 1_700_000_000_000 + i };
  return {
    op: "put",
    id: `v${i}`,
    vector: Float32Array.from([i, i + 0.5, -i]),
    metadata: { i, tag: `t${i % 3}`, nested: [true, null] },
    ...(i % 3 === 0 ? { payload: Uint8Array.from([i & 255, 1, 2]) } : {}),
    timestamp: 1_700_000_000_000 + i,
  };
}

export function entries(from: number, count: number): WalEntry[] {
  return Array.from({ length: count }, (_, k) => entry(from + k));
}

/** The record replay must give back for entry `i` at `sequence`. */
export function expected(collection: string, i: number, sequence: number): WalRecord {
  const e = entry(i);
  return { sequence, collection, ...e, timestamp: e.timestamp as number } as WalRecord;
}

export async function collect(it: AsyncIterable<WalRecord>): Promise<WalRecord[]> {
  const out: WalRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}
