import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { killLiveChildren, nodeChild, runAndKill, runTrials } from "@proximadb/testing/kill-harness";
import { afterAll, describe, expect, it } from "vitest";
import { twoDiskToml } from "./config-support.js";
import { CLI, listeningAddress, startNode, tempDir } from "./helpers.js";
import { driveMove, whereIs } from "./moves-support.js";

/**
 * kill -9 of the built binary in the middle of a move, at every step of the mover (the node pauses there
 * by its test hook and is killed while paused) for five kinds of move (a collection's engine files, its
 * WAL, its metadata — definition and checkpoint — and its index), with writers running: after the
 * restart exactly one copy is live (the source before the commit, the destination from it on), no
 * incoming or retired copy is left, and every acknowledged record reads back.
 */
const STEPS = ["pass-1", "fenced", "final-pass", "committed", "promoted", "switched", "retired", "finished"];
const COMMITTED = new Set(["committed", "promoted", "switched", "retired", "finished"]);
const KINDS = [
  { engine: "viper", component: "viper" },
  { engine: "lsm", component: "lsm" },
  { engine: "viper", component: "wal" },
  { engine: "viper", component: "metadata" },
  { engine: "lsm", component: "index" },
] as const;
type Kind = (typeof KINDS)[number];
const vec = (n: number) => [n, n + 0.5, n + 0.25];

/** The other disk's root of the same component. */
const target = (from: string) => from.replace(/\/disk(\d)\//, (_m, d) => `/disk${d === "1" ? "2" : "1"}/`);
const disks = (component: string) => [1, 2].map((d) => `file://data/disk${d}/${component}`);
/** Two disks for every component; metadata and the index on both disks only where they move. */
const configOf = (kind: Kind) =>
  twoDiskToml("mover", {
    "storage.wal_config": { segment_bytes: 4096 },
    "storage.viper_config": { distribution_strategy: "RoundRobin" },
    ...(kind.component === "metadata"
      ? { "storage.metadata_config": { metadata_urls: disks("metadata") } }
      : {}),
    ...(kind.component === "index" ? { "storage.index_config": { index_urls: disks("index") } } : {}),
  });

/** Files under a folder, recursively (relative paths); none when it does not exist. */
function files(dir: string, prefix = ""): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? files(join(dir, n), `${prefix}${n}/`) : [`${prefix}${n}`],
  );
}

describe(`kill -9 during a move at each of its steps (${STEPS.length * KINDS.length} points)`, () => {
  afterAll(() => {
    killLiveChildren();
  });

  for (const kind of KINDS)
    it(`moving the ${kind.component} of a ${kind.engine} collection: exactly one live copy, no acknowledged record lost after each restart`, async () => {
      await runTrials({ trials: STEPS.length, seed: 16, lanes: 2 }, async ({ index }) => {
        const step = STEPS[index] as string;
        const cwd = tempDir("proximadb-move-kill-");
        writeFileSync(join(cwd, "proximadb.toml"), configOf(kind));
        const acked = new Set<number>();
        const seen: { from?: string } = {};
        let workload: Promise<void> | undefined;
        await runAndKill(
          nodeChild(CLI, ["serve", "--port", "0", "--config", "proximadb.toml", "--log-format", "json"], {
            cwd,
            env: { PROXIMADB_TEST_MOVE_PAUSE_AT: step },
          }),
          {
            armOn: (line) => line.includes('"move paused"'),
            ack: (line) => {
              const url = listeningAddress(line);
              if (url !== undefined && workload === undefined)
                workload = driveMove(url, { ...kind, target }, acked, seen, vec);
              return undefined;
            },
            delayMs: 20,
          },
        );
        await workload;
        const disk = (d: number) => join(cwd, "data", `disk${d}`, kind.component);
        const before = [1, 2].map((d) => files(join(disk(d), "c1")).length);
        const node = await startNode(cwd, ["--config", "proximadb.toml", "--log-format", "json"]);
        const wrong: string[] = [];
        let placedAt: string | undefined;
        try {
          placedAt = whereIs((await node.request("GET", "/collections/c1")).json, kind.component);
          for (const i of acked) {
            const r = await node.request("GET", `/collections/c1/records/r${i}`);
            if (r.status !== 200 || JSON.stringify(r.json.vector) !== JSON.stringify(vec(i)))
              wrong.push(`r${i}: ${r.status}`);
          }
          if (kind.component === "index") {
            // It searches after the restart (from its index, or the exact path while that is rebuilt).
            const [first] = acked;
            const found = await node.request("POST", "/collections/c1/search", {
              vector: vec(first ?? 0),
              k: 1,
            });
            if (found.json?.results?.[0]?.id !== `r${first}`) wrong.push(`search r${first}: ${found.text}`);
          }
        } finally {
          await node.stop();
        }
        const label = `${kind.component} of a ${kind.engine} collection, killed at ${step} (files before restart ${before})`;
        expect(wrong.slice(0, 5), label).toEqual([]);
        expect(acked.size, label).toBeGreaterThan(0);
        const live = [1, 2].filter((d) => files(join(disk(d), "c1")).length > 0);
        expect(live.length, label).toBe(1);
        const liveDisk = live[0] as number;
        expect(placedAt, label).toContain(`/disk${liveDisk}/`);
        // Before the commit the source stays live; from the commit on, the destination is.
        const sourceDisk = seen.from?.includes("/disk1/") ? 1 : 2;
        expect(liveDisk, label).toBe(COMMITTED.has(step) ? 3 - sourceDisk : sourceDisk);
        for (const d of [1, 2]) {
          expect(files(join(disk(d), "_incoming")), label).toEqual([]);
          expect(files(join(disk(d), "_retired")), label).toEqual([]);
        }
      });
    }, 300_000);
});
