/**
 * Single-node mode stays simple (issue #15): with `[assignment_store] type = "memory"` a second node on
 * the same roots refuses to start, in one line, while the first runs; once the first is gone (even by
 * kill -9) the roots may be served again.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sharedRoots } from "./cluster-support.js";
import { configToml } from "./config-support.js";
import { nodeChild, startChild } from "@proximadb/testing/kill-harness";
import {
  CLI,
  type RunResult,
  type RunningNode,
  listeningAddress,
  runCli,
  startNode,
  tempDir,
} from "./helpers.js";

describe("two single nodes (memory store) on the same roots", () => {
  const dir = tempDir("proximadb-single-");
  const configOf = (name: string) => join(dir, `${name}.toml`);
  const seen = {
    second: undefined as RunResult | undefined,
    firstStillServes: 0,
    clusterView: undefined as unknown,
    afterKill: undefined as RunningNode | undefined,
    lockGoneAfterStop: false,
    stopCode: undefined as unknown,
  };

  beforeAll(async () => {
    for (const name of ["a", "b"])
      writeFileSync(configOf(name), configToml({ ...sharedRoots(), server: { node_id: name } }));
    const first = await startNode(dir, ["--config", configOf("a"), "--log-format", "json"]);
    seen.clusterView = (await first.request("GET", "/cluster")).json;
    seen.second = await runCli(["serve", "--port", "0", "--config", configOf("b")], { cwd: dir });
    seen.firstStillServes = (await first.request("GET", "/healthz")).status;
    first.child.kill("SIGKILL");
    await first.exited;
    seen.afterKill = await startNode(dir, ["--config", configOf("b"), "--log-format", "json"]);
    seen.stopCode = await seen.afterKill.stop("SIGTERM");
    seen.lockGoneAfterStop = !existsSync(join(dir, "disk1", "meta", "_writers", "single-node.lock.json"));
  }, 120_000);
  afterAll(() => {
    if (seen.afterKill?.child.exitCode === null) seen.afterKill.child.kill("SIGKILL");
  });

  it("refuses the second node with exit code 2", () => {
    expect(seen.second?.code).toBe(2);
  });

  it("says why in one line naming the running node", () => {
    const lines = (seen.second?.stderr ?? "").trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^proximadb: another node \(a, pid \d+ on .+\) is serving file:\/\/.+ with a memory assignment store/,
    );
  });

  it("leaves the first node serving", () => {
    expect(seen.firstStillServes).toBe(200);
  });

  it("GET /cluster on a single node lists that node alone", () => {
    expect(seen.clusterView).toMatchObject({ nodes: [{ id: "a", collections: 0, leaseTtlMs: null }] });
  });

  it("serves the roots again once the first node is gone (its lock is a dead process's)", () => {
    expect(seen.afterKill?.url).toMatch(/^http:/);
  });

  it("removes its lock at a clean stop", () => {
    expect(seen.stopCode).toBe(0);
    expect(seen.lockGoneAfterStop).toBe(true);
  });
});

describe("two single nodes (memory store) started at the same instant on the same roots", () => {
  const dir = tempDir("proximadb-single-race-");
  const configOf = (name: string) => join(dir, `${name}.toml`);
  const outcomes: { serving: boolean; code: number | null; stderr: string }[] = [];
  const children: ReturnType<typeof startChild>[] = [];

  beforeAll(async () => {
    for (const name of ["a", "b"])
      writeFileSync(configOf(name), configToml({ ...sharedRoots(), server: { node_id: name } }));
    // The deployment exists first (two starts on fresh roots would race on its markers instead).
    const init = await startNode(dir, ["--config", configOf("a"), "--log-format", "json"]);
    expect(await init.stop("SIGTERM")).toBe(0);
    // The lock is taken by an exclusive create: exactly one of two simultaneous starts wins it.
    for (const name of ["a", "b"])
      children.push(
        startChild(nodeChild(CLI, ["serve", "--port", "0", "--config", configOf(name)], { cwd: dir }), {
          timeoutMs: 120_000,
          stderrTailChars: Number.POSITIVE_INFINITY,
        }),
      );
    for (const child of children) {
      const serving = await child
        .waitForLine((line) => listeningAddress(line) !== undefined, { timeoutMs: 60_000 })
        .then(
          () => true,
          () => false,
        );
      const code = serving ? null : ((await child.exited).code ?? null);
      outcomes.push({ serving, code, stderr: child.stderrTail() });
    }
  }, 120_000);
  afterAll(async () => {
    for (const child of children) if (child.exit === undefined) await child.kill("SIGKILL");
  });

  it("lets exactly one serve; the other exits 2 with the one-line message", () => {
    expect(outcomes.filter((o) => o.serving)).toHaveLength(1);
    const loser = outcomes.find((o) => !o.serving);
    expect(loser?.code).toBe(2);
    const lines = (loser?.stderr ?? "").trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^proximadb: another node \([ab], pid \d+ on .+\) is (serving|taking over) file:\/\/.+ with a memory assignment store/,
    );
  });
});
