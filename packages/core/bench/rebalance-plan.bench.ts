// rebalance-plan: time to plan 100,000 collections on 16 roots (issue #16).
// - Hash (affinity): 100,000 collections placed by rendezvous on 15 roots, a 16th root added.
// - RoundRobin (greedy by bytes): 100,000 collections of uneven sizes piled unevenly on 16 roots.
// No published anchor plans this many collections; the goal is an interactive answer (well under 1 s).
import os from "node:os";
import { type RebalanceInput, planRebalance, rendezvousHome, xxh64 } from "../src/index.js";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.js";

const N = 100_000;
const ROOTS = 16;
const url = (i: number) => `file:///mnt/disk${String(i + 1).padStart(2, "0")}/viper`;
const ids = Array.from({ length: N }, (_, i) => `collection-${String(i).padStart(6, "0")}`);
// Deterministic sizes: 1 KiB … ~1 GiB, log-uniform (from the id's hash).
const sizeOf = (id: string) => Math.round(1024 * 2 ** (((xxh64(id).lo >>> 0) / 2 ** 32) * 20));

// Where rendezvous placed each collection before the 16th root was added.
const first15 = Array.from({ length: ROOTS - 1 }, (_, i) => ({ url: url(i) }));
const roots = Array.from({ length: ROOTS }, (_, i) => ({ url: url(i), state: "active" as const }));

const hashed: RebalanceInput = {
  components: [
    {
      component: "viper",
      strategy: "Hash",
      roots,
      collections: ids.map((id) => ({
        collection: id,
        url: url(rendezvousHome(id, first15)),
        bytes: sizeOf(id),
      })),
    },
  ],
};
const skewed: RebalanceInput = {
  components: [
    {
      component: "lsm",
      strategy: "RoundRobin",
      roots,
      // Root i holds a share proportional to i + 1 (root 16 has 16× root 1).
      collections: ids.map((id) => {
        const u = (xxh64(`${id}/root`).lo >>> 0) / 2 ** 32;
        const i = Math.min(ROOTS - 1, Math.floor(Math.sqrt(u) * ROOTS));
        return { collection: id, url: url(i), bytes: sizeOf(id) };
      }),
    },
  ],
};

const rows: Record<string, unknown>[] = [];
for (const [name, input, by] of [
  ["Hash, 15 → 16 roots", hashed, "count"],
  ["Hash, 15 → 16 roots", hashed, "bytes"],
  ["RoundRobin, skewed 1:16", skewed, "bytes"],
  ["RoundRobin, skewed 1:16", skewed, "count"],
] as const) {
  const run = () => planRebalance({ ...input, by });
  const plan = run();
  const ms = await timeRuns(run, 3, 1);
  rows.push({
    scenario: name,
    by,
    collections: N,
    roots: ROOTS,
    "plan ms (median of 3)": median(ms),
    moves: plan.moves.length,
    batches: plan.batches,
    "GiB to move": plan.bytesToMove / 2 ** 30,
    "balanced after": Object.values(plan.after.components).every((c) => c.balanced),
  });
}
printTable(
  `rebalance-plan: ${N.toLocaleString("en-US")} collections on ${ROOTS} roots (load ${os.loadavg()[0]?.toFixed(2)})`,
  rows,
);
writeResult("core", "rebalance-plan", { loadavg: os.loadavg(), results: rows });
