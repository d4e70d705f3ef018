import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opAt } from "./crash/ops.js";
import { type Tier, keysIn, localTier, openEngine, scanText } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = 20;

/** Deterministic pseudo-random kill delays (ms after the child is ready). */
function delays(seed: number): number[] {
  let x = seed;
  return Array.from({ length: ROUNDS }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 20 + (x % 400);
  });
}

function apply(model: Map<string, string>, round: number, count: number): Map<string, string> {
  const m = new Map(model);
  for (let i = 0; i < count; i++) {
    const op = opAt(round, i);
    if (op.type === "put") m.set(op.key as string, op.value as string);
    else m.delete(op.key as string);
  }
  return m;
}

async function runAndKill(url: string, round: number, delayMs: number): Promise<number[]> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--conditions=@proximadb/source",
      "--import",
      "tsx",
      join(here, "crash", "child.ts"),
      url,
      String(round),
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, NODE_OPTIONS: "" } },
  );
  const acks: number[] = [];
  let buffer = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line === "READY") setTimeout(() => child.kill("SIGKILL"), delayMs);
        else if (line.startsWith("F ")) acks.push(Number(line.slice(2)));
        nl = buffer.indexOf("\n");
      }
    });
    child.once("exit", (code, signal) =>
      signal === "SIGKILL" ? resolve() : reject(new Error(`child exited with ${code}`)),
    );
  });
  await exited;
  return acks;
}

describe("crash safety (child process on local disk, SIGKILL at 20 random instants)", () => {
  let tier: Tier;
  beforeAll(async () => {
    tier = await localTier(1);
  });
  afterAll(() => tier.cleanup());

  it("recovers, after every kill, to the last acknowledged flush or the flush in flight, with nothing else changed", async () => {
    const url = tier.urls[0] as string;
    let model = new Map<string, string>();
    for (const [round, delay] of delays(7).entries()) {
      const acks = await runAndKill(url, round, delay);
      const last = acks.at(-1) ?? 0;
      // A kill may land after a flush's commit but before its "F" line: then the next flush point is on disk.
      const acked = apply(model, round, last);
      const nextFlush = Math.min((Math.floor(last / 600) + 1) * 600, (Math.floor(last / 2000) + 1) * 2000);
      const inFlight = apply(model, round, nextFlush);
      const lsm = await openEngine(tier, { nodeId: "verifier" });
      const found = new Map(await scanText(lsm, "crashy"));
      const stats = await lsm.stats("crashy");
      await lsm.close({ flush: false });
      const matches = (m: Map<string, string>) =>
        found.size === m.size && [...m].every(([k, v]) => found.get(k) === v);
      if (matches(acked)) model = acked;
      else {
        expect(Object.fromEntries(found)).toEqual(Object.fromEntries(inFlight));
        model = inFlight;
      }
      // Dead compaction inputs and stale staging are gone: only live tables remain under the collection.
      // (A kill before the first flush leaves no file, so discovery finds no collection: no stats.)
      const files = (await keysIn(tier, url)).filter((k) => k.startsWith("crashy/"));
      expect(files.length).toBe(stats?.levels.flat().length ?? 0);
      expect(files.every((k) => /^crashy\/level-\d+\/\d{8}\.sst$/.test(k))).toBe(true);
    }
    expect(model.size).toBeGreaterThan(0);
  }, 90_000);
});
