import { tmpdir } from "node:os";
import { InvalidArgumentError } from "@proximadb/core";
import { afterAll, describe, expect, it } from "vitest";
import {
  ChildProcessError,
  type KillRun,
  killLiveChildren,
  lastJsonLine,
  nodeChild,
  parseJsonLine,
  runAndKill,
  runChild,
  runTrials,
  startChild,
  tsChild,
} from "../src/kill-harness/index.js";

const ackChild = new URL("./fixtures/children/ack-child.mjs", import.meta.url);
const child = (...args: string[]) => nodeChild(ackChild, args);
const ack = (line: string) => parseJsonLine<{ ack: number }>(line)?.ack;

afterAll(() => {
  killLiveChildren();
});

/** The rejection of `p`, which must reject. */
async function rejection(p: Promise<unknown>): Promise<ChildProcessError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ChildProcessError);
  return err as ChildProcessError;
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("runAndKill", () => {
  it("kills at the chosen acknowledgement and returns every complete acknowledgement printed before death", async () => {
    const run: KillRun<number> = await runAndKill(child("ack", "30"), { ack, afterAcks: 5 });
    expect(run.exit).toEqual({ code: null, signal: "SIGKILL" });
    expect(run.acksAtKill).toBe(5);
    // Lines still in the pipe at the signal count too; none is skipped or repeated, and the stream stopped
    // long before the child's cap of 1,000.
    expect(run.acked.length).toBeGreaterThanOrEqual(5);
    expect(run.acked.length).toBeLessThan(1000);
    expect(run.acked).toEqual(upTo(run.acked.length));
  });

  it("starts the kill clock at the arming line, not at the first acknowledgement, and waits delayMs", async () => {
    // The child prints three acknowledgements, pauses 300 ms, then READY: killed at once on arming it
    // would never print READY.
    const run = await runAndKill(child("late-ready", "10"), { ack, armOn: "READY", delayMs: 100 });
    expect(run.exit.signal).toBe("SIGKILL");
    expect(run.lines).toContain("READY");
    expect(run.acksAtKill).toBeGreaterThanOrEqual(3);
    expect(run.killedAfterMs).toBeGreaterThanOrEqual(100);
    expect(run.acked).toEqual(upTo(run.acked.length));
  });

  it("counts only complete lines: a line torn by the kill is not an acknowledgement", async () => {
    const run = await runAndKill(child("torn"), { ack, armOn: "READY", delayMs: 200 });
    expect(run.acked).toEqual([0, 1]);
    expect(run.lines).toEqual(["READY", '{"ack":0}', '{"ack":1}']);
  });

  it("rejects a child that crashes before arming with a typed error naming it, its exit and its stderr tail", async () => {
    const err = await rejection(runAndKill(child("crash-early"), { ack, armOn: "READY" }));
    expect(err.kind).toBe("ExitedEarly");
    expect(err.label).toBe("ack-child.mjs");
    expect(err.exit).toEqual({ code: 3, signal: null });
    expect(err.message).toContain('ack-child.mjs exited with code 3 before printing the line "READY"');
    expect(err.message).toContain("boom: disk on fire");
    expect(err.stderrTail).toContain("boom: disk on fire");
  });

  it("rejects a child that exits on its own after arming: it was never killed", async () => {
    const err = await rejection(
      runAndKill(child("exit-after-ready"), { ack, armOn: "READY", delayMs: 5000 }),
    );
    expect(err.kind).toBe("NotKilled");
    expect(err.exit).toEqual({ code: 0, signal: null });
    expect(err.message).toContain('{"ack":0}');
  });

  it("kills a child that never arms after armTimeoutMs and says what it waited for", async () => {
    const err = await rejection(runAndKill(child("silent"), { ack, armOn: "READY", armTimeoutMs: 300 }));
    expect(err.kind).toBe("Timeout");
    expect(err.exit?.signal).toBe("SIGKILL");
    expect(err.message).toContain('did not print the line "READY" within 300 ms');
  });

  it("fails the run with BadOutput, naming the line, when the acknowledgement parser throws", async () => {
    const strict = (line: string) => {
      if (line === '{"ack":2}') throw new Error("unexpected acknowledgement");
      return ack(line);
    };
    const err = await rejection(
      runAndKill(child("ack", "10"), { ack: strict, armOn: "READY", delayMs: 30_000 }),
    );
    expect(err.kind).toBe("BadOutput");
    expect(err.message).toContain(`line "{\\"ack\\":2}" threw: Error: unexpected acknowledgement`);
    expect(err.exit?.signal).toBe("SIGKILL");
  });

  it("rejects bad kill options with InvalidArgumentError before starting anything", async () => {
    await expect(runAndKill(child("ack"), { ack, delayMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(runAndKill(child("ack"), { ack, afterAcks: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(runAndKill(child("ack"), { ack, afterAcks: 1.5 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(killLiveChildren()).toBe(0);
  });
});

describe("runChild and startChild", () => {
  it("runs a child to its end and finds its last JSON line among other output", async () => {
    const run = await runChild(child("result"));
    expect(run).toMatchObject({ code: 0, signal: null, label: "ack-child.mjs" });
    expect(run.lines).toEqual(["starting", '{"progress":1}', '{"result":42}', "done"]);
    expect(lastJsonLine<{ result: number }>(run)).toEqual({ result: 42 });
  });

  it("keeps a last line printed without a newline in stdout, where lastJsonLine finds it", async () => {
    const run = await runChild(child("no-newline"));
    expect(run.lines).toEqual(["working"]);
    expect(run.stdout).toBe('working\n{"ops":7}');
    expect(lastJsonLine(run)).toEqual({ ops: 7 });
  });

  it("keeps all of stderr with stderrTailChars: Infinity, and rejects a bad tail length", async () => {
    const run = await runChild(child("stderr-flood"), {
      expect: "any",
      stderrTailChars: Number.POSITIVE_INFINITY,
    });
    expect(run.stderr.startsWith("START")).toBe(true);
    expect(run.stderr.length).toBe(100_013);
    await expect(runChild(child("result"), { stderrTailChars: -1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("rejects a failed run with BadExit and keeps the end of a long stderr", async () => {
    const err = await rejection(runChild(child("stderr-flood")));
    expect(err.kind).toBe("BadExit");
    expect(err.message).toContain("exited with code 2, expected exit code 0");
    expect(err.stderrTail).toContain("THE END");
    expect(err.stderrTail).not.toContain("START");
    expect(err.stderrTail.length).toBeLessThanOrEqual(4000);
  });

  it("returns any end with expect: any, and rejects output without JSON with BadOutput", async () => {
    const run = await runChild(child("crash-early"), { expect: "any" });
    expect(run).toMatchObject({ code: 3, signal: null });
    const err = (() => {
      try {
        lastJsonLine(run);
      } catch (e) {
        return e as ChildProcessError;
      }
    })();
    expect(err).toBeInstanceOf(ChildProcessError);
    expect(err?.kind).toBe("BadOutput");
    expect(err?.message).toContain("boom: disk on fire");
  });

  it("reports an executable that cannot start as SpawnFailed", async () => {
    const err = await rejection(runChild({ command: "/nonexistent/proximadb-no-such-binary", args: [] }));
    expect(err.kind).toBe("SpawnFailed");
    expect(err.message).toContain("ENOENT");
  });

  it("waits for a JSON line among log noise, then kills the child with SIGKILL", async () => {
    const server = startChild(child("serve"));
    const listening = await server.waitForJson<{ msg?: string; address?: string }>(
      (l) => l.msg === "listening",
    );
    expect(listening.address).toBe("http://127.0.0.1:1");
    expect(await server.kill()).toEqual({ code: null, signal: "SIGKILL" });
    expect(server.exit).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("exposes the Node ChildProcess: a signal sent through it ends the child like kill() does", async () => {
    const server = startChild(child("serve"));
    await server.waitForJson<{ msg?: string }>((l) => l.msg === "listening");
    expect(server.process.pid).toBe(server.pid);
    expect(server.process.exitCode).toBeNull();
    expect(server.process.kill("SIGTERM")).toBe(true);
    expect(await server.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(server.process.signalCode).toBe("SIGTERM");
    expect(server.signal()).toBe(false);
  });

  it("rejects a wait for a line the child never prints once it exits, and another past its timeout", async () => {
    const quitter = startChild(child("result"));
    const early = await rejection(quitter.waitForLine(/^listening/));
    expect(early.kind).toBe("ExitedEarly");
    expect(early.message).toContain("exited with code 0 before printing a line matching /^listening/");

    const silent = startChild(child("silent"));
    const late = await rejection(silent.waitForLine("READY", { timeoutMs: 200 }));
    expect(late.kind).toBe("Timeout");
    expect(silent.exit?.signal).toBe("SIGKILL");
  });

  it("kills a child that outlives its timeoutMs and rejects its run with Timeout", async () => {
    const err = await rejection(runChild(child("silent"), { timeoutMs: 300 }));
    expect(err.kind).toBe("Timeout");
    expect(err.exit?.signal).toBe("SIGKILL");
  });

  it("kills every live child on killLiveChildren", async () => {
    const a = startChild(child("silent"));
    const b = startChild(child("silent"));
    expect(killLiveChildren()).toBe(2);
    expect((await a.exited).signal).toBe("SIGKILL");
    expect((await b.exited).signal).toBe("SIGKILL");
  });

  it("runs a TypeScript child on workspace sources through tsx, whatever its working directory", async () => {
    const script = new URL("./fixtures/children/ts-child.ts", import.meta.url);
    const run = await runChild(tsChild(script, ["file:///mnt/a/wal/"], { cwd: tmpdir() }), {
      timeoutMs: 60_000,
    });
    expect(lastJsonLine(run)).toEqual({ url: "file:///mnt/a/wal", scheme: "file", cwd: tmpdir() });
  }, 60_000);
});

describe("runTrials", () => {
  const draws = (lanes: number) =>
    runTrials({ trials: 6, seed: 42, lanes }, async ({ index, random }) => [index, random(), random()]);

  it("gives every trial its own seeded generator: the same draws whatever the number of lanes", async () => {
    const one = await draws(1);
    expect(one.map((d) => d[0])).toEqual(upTo(6));
    expect(await draws(3)).toEqual(one);
    expect(new Set(one.map((d) => d[1])).size).toBe(6);
    const other = await runTrials({ trials: 6, seed: 43 }, async ({ random }) => random());
    expect(other).not.toEqual(one.map((d) => d[1]));
  });

  it("runs lanes side by side, each lane's trials one after another", async () => {
    const events: string[] = [];
    let running = 0;
    let most = 0;
    await runTrials({ trials: 6, seed: 1, lanes: 2 }, async ({ index, lane }) => {
      expect(lane).toBe(index % 2);
      running++;
      most = Math.max(most, running);
      events.push(`start ${index}`);
      await new Promise((r) => setTimeout(r, 5));
      events.push(`end ${index}`);
      running--;
    });
    expect(most).toBe(2);
    // Within a lane, trial i + 2 starts only after trial i ended.
    for (const i of upTo(4))
      expect(events.indexOf(`end ${i}`)).toBeLessThan(events.indexOf(`start ${i + 2}`));
  });

  it("stops at the first failure and names the trial and both seeds", async () => {
    const started: number[] = [];
    const failing = runTrials({ trials: 10, seed: 9 }, async ({ index }) => {
      started.push(index);
      if (index === 3) throw new Error("acknowledged record r3 missing after replay");
    });
    await expect(failing).rejects.toThrow(
      /^trial 3 of 10 \(seed 9, trial seed \d+\): acknowledged record r3 missing after replay$/,
    );
    expect(started).toEqual([0, 1, 2, 3]);
  });

  it("rejects a bad trial count, lane count or seed with InvalidArgumentError", async () => {
    const noop = async () => undefined;
    await expect(runTrials({ trials: 0, seed: 1 }, noop)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(runTrials({ trials: 2, seed: 1, lanes: 0 }, noop)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(runTrials({ trials: 2, seed: Number.NaN }, noop)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
