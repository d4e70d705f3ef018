import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type WalEncoding, type WalRecord, WriteAheadLog } from "../src/index.js";
import { childEntry } from "./fixtures/child-records.js";
import { collect } from "./records.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "../../..");
const KILL_POINTS = 20;
const live = new Set<ReturnType<typeof spawn>>();

/** Runs the child until it has acknowledged something, then SIGKILLs it after a random delay. */
function runAndKill(
  rootUrl: string,
  encoding: WalEncoding,
  run: number,
  delayMs: number,
): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--conditions=@proximadb/source",
        "--import",
        "tsx",
        join(here, "fixtures/append-child.ts"),
        rootUrl,
        encoding,
        String(run),
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
    );
    live.add(child);
    // A child that never acknowledges anything is killed too (and the run then fails below).
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    let out = "";
    let err = "";
    let armed = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (!armed && /\n\S+ \d+\n/.test(out)) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      clearTimeout(guard);
      live.delete(child);
      if (!armed) return reject(new Error(`child acknowledged nothing: ${err}`));
      if (signal !== "SIGKILL") return reject(new Error(`child exited without being killed: ${err}`));
      const acked = new Map<string, number>();
      // Only complete lines: a line is printed after its append resolved.
      for (const line of out.slice(0, out.lastIndexOf("\n")).split("\n")) {
        const m = /^(\S+) (\d+)$/.exec(line);
        if (m) acked.set(m[1] as string, Number(m[2]));
      }
      resolve(acked);
    });
  });
}

/** True when `r` is exactly what the child appended under its id. */
function sameAsAppended(r: WalRecord): boolean {
  const m = /^r(\d+)-(\d+)$/.exec(r.id);
  if (!m) return false;
  const want = childEntry(Number(m[1]), Number(m[2]));
  if (
    r.op !== want.op ||
    r.timestamp !== want.timestamp ||
    r.collection !== "stream" ||
    r.payload !== undefined
  )
    return false;
  if (JSON.stringify(r.metadata) !== JSON.stringify(want.metadata)) return false;
  const a = r.vector;
  const b = want.vector;
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe("WriteAheadLog under kill -9 (local disk, child process)", () => {
  let base: string;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "proximadb-wal-kill-"));
  });
  afterAll(async () => {
    for (const c of live) c.kill("SIGKILL");
    await rm(base, { recursive: true, force: true });
  });

  /** One lane: a root of its own, `runs` kill points in a row, the WAL reopened and checked after each. */
  async function lane(name: string, runs: number): Promise<{ acked: number; replayed: number; cut: number }> {
    const rootUrl = `file://${base}/${name}`;
    await mkdir(`${base}/${name}`);
    const acked = new Map<string, number>(); // every acknowledgement of every run
    let cut = 0;
    let replayed: WalRecord[] = [];
    for (let run = 0; run < runs; run++) {
      const encoding: WalEncoding = run % 2 === 0 ? "bincode" : "avro";
      const t0 = Date.now();
      const ackedNow = await runAndKill(rootUrl, encoding, run, Math.floor(Math.random() * 150));
      for (const [id, seq] of ackedNow) acked.set(id, seq);
      const t1 = Date.now();

      const service = new AssignmentService({ components: { wal: { roots: [rootUrl] } } });
      const wal = await WriteAheadLog.open({
        service,
        openFileSystem: (r) => new LocalFileSystem(r),
        nodeId: "parent",
        onCorruption: () => cut++,
      });
      replayed = await collect(wal.replay("stream"));
      await wal.close();
      if (process.env.KILL9_DEBUG)
        console.error(
          `${name} run ${run}: child ${t1 - t0} ms, verify ${Date.now() - t1} ms, ${replayed.length} records`,
        );

      // No duplicates; strictly increasing sequences.
      const seqs = replayed.map((r) => r.sequence);
      expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number))).toBe(true);
      expect(new Set(replayed.map((r) => r.id)).size).toBe(replayed.length);
      // Nothing else: every replayed record is exactly one the child appended (checked by hand:
      // a vitest matcher per record would stall the event loop that times the other lane's kill).
      const wrong = replayed.filter((r) => !sameAsAppended(r)).map((r) => r.id);
      expect(wrong).toEqual([]);
      // Every acknowledged record, with the sequence it was acknowledged with.
      const bySeq = new Map(replayed.map((r) => [r.id, r.sequence]));
      const missing = [...acked].filter(([id, seq]) => bySeq.get(id) !== seq);
      expect(missing).toEqual([]);
    }
    return { acked: acked.size, replayed: replayed.length, cut };
  }

  it(`replays every acknowledged record, nothing else and no duplicates, across ${KILL_POINTS} random kill points`, async () => {
    // Two lanes side by side (one per core), each with its own root.
    const lanes = await Promise.all([lane("a", KILL_POINTS / 2), lane("b", KILL_POINTS / 2)]);
    for (const l of lanes) {
      expect(l.acked).toBeGreaterThan(KILL_POINTS / 2);
      expect(l.replayed).toBeGreaterThanOrEqual(l.acked);
    }
    console.log(`kill -9: ${KILL_POINTS} kill points, ${JSON.stringify(lanes)}`);
  }, 120_000); // ~20 s on an idle 2-core machine; child start-up (tsx) dominates
});
