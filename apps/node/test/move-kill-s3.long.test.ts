import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { listAll, parseStorageUrl } from "@proximadb/core";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { killLiveChildren, nodeChild, runAndKill, runTrials } from "@proximadb/testing/kill-harness";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseConfigText } from "../src/config.js";
import { fileSystemOpener } from "../src/storage.js";
import { CLI, listeningAddress, startNode, tempDir } from "./helpers.js";

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
const DIM = 3;
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

  /** Keys under `prefix` of the root `url`, through the node's own adapter. */
  async function keys(cwd: string, toml: string, url: string, prefix: string): Promise<string[]> {
    const config = parseConfigText(toml, { baseDir: cwd, source: "test" });
    const fs = (await fileSystemOpener(config))(parseStorageUrl(url));
    try {
      return (await listAll(fs, prefix)).files.map((f) => f.key);
    } finally {
      await fs.close();
    }
  }

  /** Creates the collection, writes, starts the move, and keeps writing until the node dies. */
  async function drive(
    url: string,
    engine: string,
    acked: Set<number>,
    seen: { from?: string; to?: string },
  ) {
    const pool = new Pool(url, { connections: 4, pipelining: 1 });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await pool.request({
        method: method as "GET",
        path,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
      return { status: res.statusCode, json: await res.body.json().catch(() => undefined) };
    };
    let next = 0;
    let alive = true;
    try {
      await call("POST", "/collections", { id: "c1", engine, dimension: DIM });
      const writer = async () => {
        while (alive) {
          const batch = Array.from({ length: 4 }, () => next++);
          const r = await call("POST", "/collections/c1/records", {
            records: batch.map((i) => ({ id: `r${i}`, vector: vec(i) })),
          });
          if (r.status === 200) for (const i of batch) acked.add(i);
        }
      };
      const writing = [writer(), writer()];
      await new Promise((r) => setTimeout(r, 300));
      await call("POST", "/collections/c1/flush");
      // biome-ignore lint/suspicious/noExplicitAny: the node's JSON answer
      const view: any = (await call("GET", "/collections/c1")).json;
      const from = view.placements[engine].url as string;
      const to = from.replace(/\/([ab])\//, (_m, r) => `/${r === "a" ? "b" : "a"}/`);
      seen.from = from;
      seen.to = to;
      const started = await call("POST", "/collections/c1/moves", { component: engine, to });
      if (started.status !== 202)
        throw new Error(`move answered ${started.status} ${JSON.stringify(started.json)}`);
      await Promise.all(writing);
    } catch {
      // The node was killed: the writers stop.
    } finally {
      alive = false;
      await pool.destroy().catch(() => undefined);
    }
  }

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
              if (url !== undefined && workload === undefined) workload = drive(url, engine, acked, seen);
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
