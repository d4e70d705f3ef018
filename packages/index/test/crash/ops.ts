/** The changes of one crash-test round, derived from its number alone (the parent and the child agree). */
import { seededRandom } from "@proximadb/testing/fault-proxy";

export const CRASH_DIM = 16;
export const CRASH_IDS = 400;

export interface RoundChanges {
  readonly adds: { id: string; vector: number[] }[];
  readonly deletes: string[];
}

/** Vector of `id` in round `round` (every round writes new vectors, so upserts are visible). */
function vectorFor(round: number, id: number): number[] {
  const next = seededRandom(round * 100_003 + id);
  return Array.from({ length: CRASH_DIM }, () => Math.fround(next() * 2 - 1));
}

/** Round 0 adds ids 0..299; later rounds upsert or add 40 ids and delete 8. */
export function roundChanges(round: number): RoundChanges {
  if (round === 0) {
    return {
      adds: Array.from({ length: 300 }, (_, i) => ({ id: `v${i}`, vector: vectorFor(0, i) })),
      deletes: [],
    };
  }
  const next = seededRandom(round);
  const adds = Array.from({ length: 40 }, () => {
    const id = Math.floor(next() * CRASH_IDS);
    return { id: `v${id}`, vector: vectorFor(round, id) };
  });
  const deletes = Array.from({ length: 8 }, () => `v${Math.floor(next() * CRASH_IDS)}`);
  return { adds, deletes };
}

/** Applies a round's changes to a model (id → vector): adds first, then deletes, as the child does. */
export function applyChanges(
  model: ReadonlyMap<string, number[]>,
  changes: RoundChanges,
): Map<string, number[]> {
  const out = new Map(model);
  for (const a of changes.adds) out.set(a.id, a.vector);
  for (const d of changes.deletes) out.delete(d);
  return out;
}
