import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { killLiveChildren, nodeChild, runAndKill, runTrials } from "@proximadb/testing/kill-harness";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfigText } from "../src/config.js";
import { CLI, listeningAddress, startNode, tempDir } from "./helpers.js";
import { driveMove, rootKeys } from "./moves-support.js";

/**
 * kill -9 of the built binary in the middle of a move between two S3 roots (s3rver), at every step of the
 * mover, with writers running. On S3 a move is a server-side copy and the retirement deletes the source
 * objects (no `_retired/` copy): after the restart exactly one copy is live (the source before the
 * commit, the destination from it on), nothing is left under `_incoming/` or `_retired/`, and every
 * acknowledged record reads back. The local-disk variant (rename retirement) is `move-kill.long.test.ts`.
 */
const STEPS = ["pass-1", "fenced", "final-pass", "committed", "promoted", "switched", "retired", "finished"];
const COMMITTED = new Set(["committed", "promoted", "switched", "retired", "finished"]);
const ENGINES = ["viper", "lsm"] as const;
const BUCKET = "proximadb-move-kill";
const vec = (n: number) => [n, n + 0.5, n + 0.25];

describe(`kill -9 during an S3 → S3 move at each of its steps (${STEPS.length * ENGINES.length} points)`, () => {
  let s3: S3rverInstance;
  const checked = { kills: 0, records: 0 };
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [BUCKET] });
    vi.stubEnv("AWS_ACCESS_KEY_ID", s3.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", s3.credentials.secretAccessKey);
  });
  afterAll(async () => {
    console.log(`S3 move kill -9: ${checked.kills} kills, ${checked.records} acknowledged records read back`);
    killLiveChildren();
    vi.unstubAllEnvs();
    await s3?.stop();
  });

  /** Each trial its own prefixes in the bucket: `<trial>/a/<engine>` and `<trial>/b/<engine>`. */
  const tomlOf = (trial: string) =>
    [
      `[storage.wal_config]\nwal_urls = ["file://data/disk1/wal"]\nsegment_bytes = 4096`,
      `[storage.viper_config]\ndata_urls = ["s3://${BUCKET}/${trial}/a/viper", "s3://${BUCKET}/${trial}/b/viper"]\ndistribution_strategy = "RoundRobin"`,
      `[storage.lsm_config]\ndata_urls = ["s3://${BUCKET}/${trial}/a/lsm", "s3://${BUCKET}/${trial}/b/lsm"]`,
      `[storage.metadata_config]\nmetadata_urls = ["file://data/disk1/metadata"]`,
      `[engine]\nflush_threshold_bytes = 4096\nbackground_interval_ms = 50`,
      `[backends.s3]\nendpoint = "${s3.endpoint}"\nregion = "${s3.region}"\nforce_path_style = true`,
    ].join("\n\n");

  const keys = (cwd: string, toml: string, url: string, prefix: string) =>
    rootKeys(parseConfigText(toml, { baseDir: cwd, source: "test" }), url, prefix);
  /** The other prefix's root (`…/a/…` ↔ `…/b/…`). */
  const target = (from: string) => from.replace(/\/([ab])\//, (_m, r) => `/${r === "a" ? "b" : "a"}/`);

  for (const engine of ENGINES)
    it(`moving the ${engine} files of a collection: exactly one live copy, no acknowledged record lost after each restart`, async () => {
      await runTrials({ trials: STEPS.length, seed: 17, lanes: 2 }, async ({ index }) => {
        const step = STEPS[index] as string;
        const trial = `${engine}-${step}`;
        const cwd = tempDir("proximadb-move-kill-s3-");
        const toml = tomlOf(trial);
        writeFileSync(join(cwd, "proximadb.toml"), toml);
        const acked = new Set<number>();
        const seen: { from?: string; to?: string } = {};
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
                workload = driveMove(url, { engine, component: engine, target }, acked, seen, vec);
              return undefined;
            },
            delayMs: 20,
          },
        );
        await workload;
        const node = await startNode(cwd, ["--config", "proximadb.toml", "--log-format", "json"]);
        const wrong: string[] = [];
        let placedAt: string | undefined;
        try {
          placedAt = (await node.request("GET", "/collections/c1")).json?.placements?.[engine]?.url;
          for (const i of acked) {
            const r = await node.request("GET", `/collections/c1/records/r${i}`);
            if (r.status !== 200 || JSON.stringify(r.json.vector) !== JSON.stringify(vec(i)))
              wrong.push(`r${i}: ${r.status}`);
          }
        } finally {
          await node.stop();
        }
        const label = `${engine} files, killed at ${step}`;
        checked.kills++;
        checked.records += acked.size;
        expect(wrong.slice(0, 5), label).toEqual([]);
        expect(acked.size, label).toBeGreaterThan(0);
        const from = seen.from as string;
        const to = seen.to as string;
        expect(placedAt, label).toBe(COMMITTED.has(step) ? to : from);
        const live = COMMITTED.has(step) ? to : from;
        const other = live === to ? from : to;
        expect((await keys(cwd, toml, live, "c1/")).length, label).toBeGreaterThan(0);
        expect(await keys(cwd, toml, other, "c1/"), label).toEqual([]);
        for (const url of [from, to]) {
          expect(await keys(cwd, toml, url, "_incoming/"), label).toEqual([]);
          expect(await keys(cwd, toml, url, "_retired/"), label).toEqual([]);
        }
      });
    }, 300_000);
});
