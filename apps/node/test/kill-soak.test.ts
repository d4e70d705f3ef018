import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  killLiveChildren,
  nodeChild,
  randomInt,
  runAndKill,
  runTrials,
} from "@proximadb/testing/kill-harness";
import { Pool } from "undici";
import { afterAll, describe, expect, it } from "vitest";
import { twoDiskToml } from "./config-support.js";
import { CLI, listeningAddress, sendJson, startNode, tempDir } from "./helpers.js";

/**
 * The kill -9 loop through the built binary: per trial a fresh node with two collections (VIPER and LSM),
 * concurrent writers, deletes of acknowledged records, explicit flushes and compactions, and background
 * thresholds small enough that automatic flushes and compactions run all the time; SIGKILL at a seeded
 * random instant; restart; then every acknowledged record must read back with its vector and no
 * acknowledged delete may be undone.
 *
 * `PROXIMADB_KILL_TRIALS` sets the trial count (default 4 inside `pnpm test`; `pnpm soak` runs 100).
 */
const TRIALS = Number(process.env.PROXIMADB_KILL_TRIALS ?? 4);
const SEED = Number(process.env.PROXIMADB_KILL_SEED ?? 20250614);
const LANES = 2;
const WRITERS = 4;
const DIM = 4;
const COLLECTIONS = [
  { id: "vec", engine: "viper" },
  { id: "kv", engine: "lsm" },
] as const;

const CONFIG = twoDiskToml("soak", { "storage.wal_config": { sync: "batch", segment_bytes: 8192 } });

/** The vector of record `n` of writer `w` (exact in float32). */
const vectorOf = (w: number, n: number) => Array.from({ length: DIM }, (_, i) => w * 10_000 + n + i / 4);

/**
 * What a trial's writers were told: acknowledged puts (with their vectors) and acknowledged deletes, and
 * the deletes sent without an answer (the kill came first: such a record may or may not be there).
 */
interface Acknowledged {
  readonly collections: Set<string>;
  readonly puts: Map<string, number[]>;
  readonly deletes: Set<string>;
  readonly unanswered: Set<string>;
}

/** A connection failure: the node is gone (killed), the writer stops. */
const gone = (err: unknown) => err instanceof Error;

/**
 * The workload against the node at `url`, until it dies: creates the collections, then writers each
 * putting their own new ids in small batches and deleting some of their acknowledged ones, and a
 * maintainer asking for flushes and compactions. Only answers that arrived count as acknowledged.
 */
async function drive(url: string, random: () => number, acked: Acknowledged): Promise<void> {
  const pool = new Pool(url, { connections: WRITERS + 2, pipelining: 1 });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await sendJson(pool, method, path, body);
    await res.body.text();
    return res.statusCode;
  };
  let alive = true;
  try {
    for (const c of COLLECTIONS) {
      if ((await call("POST", "/collections", { ...c, dimension: DIM })) === 201) acked.collections.add(c.id);
    }
    const writer = async (w: number) => {
      const mine: string[] = [];
      for (let n = 0; alive; ) {
        const c = COLLECTIONS[(w + n) % COLLECTIONS.length] as (typeof COLLECTIONS)[number];
        if (mine.length > 4 && random() < 0.2) {
          const key = mine.splice(Math.floor(random() * mine.length), 1)[0] as string;
          const [cid, rid] = key.split("/") as [string, string];
          acked.unanswered.add(key);
          if ((await call("DELETE", `/collections/${cid}/records/${rid}`)) === 200) acked.deletes.add(key);
          acked.unanswered.delete(key);
          continue;
        }
        const size = 1 + Math.floor(random() * 8);
        const records = Array.from({ length: size }, (_, k) => ({
          id: `w${w}-${n + k}`,
          vector: vectorOf(w, n + k),
        }));
        n += size;
        if ((await call("POST", `/collections/${c.id}/records`, { records })) === 200)
          for (const r of records) {
            acked.puts.set(`${c.id}/${r.id}`, r.vector);
            mine.push(`${c.id}/${r.id}`);
          }
      }
    };
    const maintainer = async () => {
      while (alive) {
        const c = COLLECTIONS[Math.floor(random() * COLLECTIONS.length)] as (typeof COLLECTIONS)[number];
        await call("POST", `/collections/${c.id}/${random() < 0.6 ? "flush" : "compact"}`);
        await new Promise((r) => setTimeout(r, randomIntOf(random, 5, 60)));
      }
    };
    await Promise.all([...Array.from({ length: WRITERS }, (_, w) => writer(w)), maintainer()]);
  } catch (err) {
    if (!gone(err)) throw err;
  } finally {
    alive = false;
    await pool.destroy().catch(() => undefined);
  }
}

const randomIntOf = (random: () => number, min: number, max: number) =>
  min + Math.floor(random() * (max - min + 1));

describe(`kill -9 of the built binary at random instants (${TRIALS} trials, ${LANES} lanes)`, () => {
  afterAll(() => {
    killLiveChildren();
  });

  it(
    "reads back every acknowledged record with its vector and undoes no acknowledged delete after each restart",
    async () => {
      const started = Date.now();
      const results = await runTrials({ trials: TRIALS, seed: SEED, lanes: LANES }, async ({ random }) => {
        const cwd = tempDir("proximadb-soak-");
        writeFileSync(join(cwd, "proximadb.toml"), CONFIG);
        const acked: Acknowledged = {
          collections: new Set(),
          puts: new Map(),
          deletes: new Set(),
          unanswered: new Set(),
        };
        let workload: Promise<void> | undefined;
        const run = await runAndKill(
          nodeChild(CLI, ["serve", "--port", "0", "--config", "proximadb.toml", "--log-format", "json"], {
            cwd,
          }),
          {
            armOn: (line) => listeningAddress(line) !== undefined,
            ack: (line) => {
              const url = listeningAddress(line);
              if (url !== undefined && workload === undefined) workload = drive(url, random, acked);
              return undefined;
            },
            delayMs: randomInt(random, 150, 1500),
          },
        );
        await workload;
        const node = await startNode(cwd, ["--config", "proximadb.toml", "--log-format", "json"]);
        const wrong: string[] = [];
        try {
          const listed = (await node.request("GET", "/collections")).json.collections.map(
            (c: { id: string }) => c.id,
          );
          for (const c of acked.collections) if (!listed.includes(c)) wrong.push(`collection ${c} missing`);
          const keys = [...acked.puts.keys()];
          for (let i = 0; i < keys.length; i += 16) {
            await Promise.all(
              keys.slice(i, i + 16).map(async (key) => {
                const [cid, rid] = key.split("/") as [string, string];
                const r = await node.request("GET", `/collections/${cid}/records/${rid}`);
                if (acked.deletes.has(key)) {
                  if (r.status !== 404) wrong.push(`${key}: deleted, but ${r.status}`);
                } else if (acked.unanswered.has(key) && r.status === 404) {
                  // Its delete was sent and may have been carried out before the kill.
                } else if (r.status !== 200) wrong.push(`${key}: acknowledged, but ${r.status} ${r.text}`);
                else if (JSON.stringify(r.json.vector) !== JSON.stringify(acked.puts.get(key)))
                  wrong.push(`${key}: vector ${JSON.stringify(r.json.vector)}`);
              }),
            );
          }
        } finally {
          await node.stop();
        }
        if (wrong.length > 0)
          throw new Error(
            `after a kill ${run.killedAfterMs.toFixed(0)} ms in: ${wrong.slice(0, 10).join("; ")}`,
          );
        return {
          records: acked.puts.size - acked.deletes.size - acked.unanswered.size,
          deletes: acked.deletes.size,
        };
      });
      const records = results.reduce((n, r) => n + r.records, 0);
      const deletes = results.reduce((n, r) => n + r.deletes, 0);
      console.log(
        `kill -9 soak: ${TRIALS} trials, ${records} acknowledged records and ${deletes} acknowledged deletes checked, ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      expect(results).toHaveLength(TRIALS);
      expect(records).toBeGreaterThan(0);
    },
    60_000 + TRIALS * 30_000,
  );
});
