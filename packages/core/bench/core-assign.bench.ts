// core-assign: ops/s of AssignmentService.assign for 1,000,000 new collections on 8 roots, per strategy,
// beside plain Map.set of the same keys in the same run; and heap bytes per assignment.
import { AssignmentService, type StrategyName } from "../src/index.js";
import { median, printTable, writeResult } from "../../../bench/lib.js";

const N = Number(process.env.CORE_ASSIGN_N ?? 1_000_000);
const RUNS = Number(process.env.CORE_ASSIGN_RUNS ?? 3);
const roots = Array.from({ length: 8 }, (_, i) => `file:///mnt/disk${i + 1}/viper`);
const ids = Array.from({ length: N }, (_, i) => `collection-${i.toString(36).padStart(6, "0")}`);
const gc = (globalThis as { gc?: () => void }).gc;

function baseline(): number {
  const t0 = performance.now();
  const m = new Map<string, string>();
  for (let i = 0; i < N; i++) m.set(ids[i] as string, roots[i & 7] as string);
  const ms = performance.now() - t0;
  if (m.size !== N) throw new Error("baseline lost keys");
  return ms;
}

async function assignAll(strategy: StrategyName): Promise<{ ms: number; service: AssignmentService }> {
  const service = new AssignmentService({ components: { viper: { roots, strategy } } });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await service.assign(ids[i] as string, "viper");
  return { ms: performance.now() - t0, service };
}

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

// Flatten every id string once so the heap figure below is the service's own cost.
new Set(ids);

// Heap per assignment: the ids already exist (they are the key strings), so what is measured is
// the service's own cost per entry (store + cache), beyond the id string.
let heap: { bytesPerAssignment: number } | undefined;
if (gc) {
  const before = heapUsed();
  const { service } = await assignAll("RoundRobin");
  const after = heapUsed();
  heap = { bytesPerAssignment: (after - before) / N };
  if (service.stats()[0]?.total !== N) throw new Error("lost assignments");
}

const rows: Record<string, unknown>[] = [];
const figures: Record<string, unknown> = { collections: N, roots: roots.length, runs: RUNS };
const base = median(Array.from({ length: RUNS }, baseline));
rows.push({
  strategy: "Map.set baseline",
  "median ms": base,
  "ops/s": Math.round(N / (base / 1000)),
  "× baseline": 1,
});
figures.baseline = { medianMs: base, opsPerSec: N / (base / 1000) };

for (const strategy of ["RoundRobin", "Hash", "LeastUsed"] as const) {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) times.push((await assignAll(strategy)).ms);
  const ms = median(times);
  rows.push({ strategy, "median ms": ms, "ops/s": Math.round(N / (ms / 1000)), "× baseline": ms / base });
  figures[strategy] = { medianMs: ms, opsPerSec: N / (ms / 1000), ratioToBaseline: ms / base, runsMs: times };
}

figures.heap = heap ?? "run with --expose-gc";

if (heap)
  rows.push({
    strategy: "heap per assignment (RoundRobin)",
    "median ms": "",
    "ops/s": "",
    "× baseline": `${heap.bytesPerAssignment.toFixed(1)} B`,
  });
printTable(`core-assign: ${N.toLocaleString("en-US")} new collections on 8 roots (median of ${RUNS})`, rows);
writeResult("core", "assign", figures);
