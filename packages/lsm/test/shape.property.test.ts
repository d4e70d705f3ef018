// Flushes, picked compactions (overlapping flushes, as in the tree) and garbage deletes as edits on
// in-memory tables: reading through the shape always gives the model's answer, and no table is listed twice.
import fc from "fast-check";
import { describe, it } from "vitest";
import { type PickedCompaction, pickCompaction, pickFullCompaction } from "../src/picker.js";
import { TreeShape } from "../src/shape.js";
import type { FileId } from "../src/sstable.js";

/** A table as a value: key → value, `null` a tombstone. */
interface MemTable extends FileId {
  readonly entries: ReadonlyMap<string, string | null>;
}

const KEYS = ["a", "b", "c", "d", "e", "f", "g"];
const step = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("flush" as const),
      writes: fc.array(
        fc.tuple(fc.constantFrom(...KEYS), fc.option(fc.string({ maxLength: 3 }), { nil: null })),
        {
          minLength: 1,
          maxLength: 5,
        },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ op: "start" as const }) },
  { weight: 3, arbitrary: fc.constant({ op: "finish" as const }) },
  { weight: 1, arbitrary: fc.constant({ op: "full" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("gc" as const), count: fc.integer({ min: 1, max: 3 }) }),
  },
);

/** The newest value of `key` through the shape (first table in precedence order that has it). */
function read(shape: TreeShape<MemTable>, key: string): string | undefined {
  for (const t of shape.order) {
    const v = t.entries.get(key);
    if (v !== undefined) return v ?? undefined;
  }
  return undefined;
}

/** What a compaction writes: the inputs merged in precedence order, tombstones dropped when picked so. */
function merge(picked: PickedCompaction<MemTable>, number: number): MemTable {
  const entries = new Map<string, string | null>();
  for (const t of picked.inputs) for (const [k, v] of t.entries) if (!entries.has(k)) entries.set(k, v);
  if (picked.dropTombstones) for (const [k, v] of entries) if (v === null) entries.delete(k);
  return { level: picked.outputLevel, number, entries };
}

describe("tree edits from flushes and picked compactions (fast-check, no file system)", () => {
  it("never lose a live key, never resurrect a deleted one, and never list a table twice", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.array(step, { minLength: 10, maxLength: 60, size: "max" }),
        (levelFanout, steps) => {
          let shape = TreeShape.empty<MemTable>();
          let next = 1;
          const model = new Map<string, string>();
          let pending: { picked: PickedCompaction<MemTable>; output: MemTable } | undefined;
          const start = (picked: PickedCompaction<MemTable> | undefined) => {
            if (picked && !pending) pending = { picked, output: merge(picked, next++) };
          };
          for (const s of steps) {
            switch (s.op) {
              case "flush": {
                const entries = new Map(s.writes);
                shape = shape.apply({ added: [{ level: 0, number: next++, entries }] });
                for (const [k, v] of entries) v === null ? model.delete(k) : model.set(k, v);
                break;
              }
              case "start":
                start(pickCompaction(shape, { levelFanout }));
                break;
              case "full":
                start(pickFullCompaction(shape));
                break;
              case "finish":
                if (pending) {
                  shape = shape.apply({ added: [pending.output], removed: pending.picked.inputs });
                  pending = undefined;
                }
                break;
              case "gc":
                for (let i = 0; i < s.count && shape.garbage.length > 0; i++)
                  shape = shape.apply({ deleted: [shape.garbage[0] as MemTable] });
                break;
            }
            // Plain checks (expect() per step would dominate the run time).
            for (const k of KEYS) {
              const got = read(shape, k);
              if (got !== model.get(k)) throw new Error(`${k} reads ${got}, the model says ${model.get(k)}`);
            }
            const listed = [...shape.order, ...shape.garbage].map((t) => t.number);
            if (new Set(listed).size !== listed.length) throw new Error(`a table is listed twice: ${listed}`);
            for (const t of shape.order)
              if (!shape.levels[t.level]?.includes(t)) throw new Error(`table ${t.number} not in its level`);
            const garbage = shape.garbage.map((t) => t.number);
            if (garbage.some((n, i) => i > 0 && n < (garbage[i - 1] as number)))
              throw new Error(`garbage out of order: ${garbage}`);
          }
        },
      ),
      { numRuns: 500 },
    );
  }, 60_000);
});
