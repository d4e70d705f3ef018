import type { LsmBatchOp } from "../../src/index.js";

/** The i-th write of a round: puts and deletes over 1,500 keys, values naming round and index. */
export function opAt(round: number, i: number): LsmBatchOp {
  const k = (i * 7919 + round * 104729) % 1500;
  const key = `key-${String(k).padStart(5, "0")}`;
  return i % 7 === 3 ? { type: "delete", key } : { type: "put", key, value: `r${round}-i${i}` };
}
