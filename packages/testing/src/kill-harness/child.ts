import { type ChildProcess, spawn } from "node:child_process";
import { InvalidArgumentError } from "@proximadb/core";
import { type ChildCommand, childEnv, labelOf } from "./command.js";
import { type ChildExit, ChildProcessError, describeExit } from "./errors.js";

/** Which stdout lines a wait accepts: the exact line, a pattern, or a predicate. */
export type LineMatch = string | RegExp | ((line: string) => boolean);

/** Options of {@link startChild}. */
export interface StartChildOptions {
  /**
   * Longest the child may live: past it the child is killed (SIGKILL) and every wait rejects with a
   * `Timeout` {@link ChildProcessError}. Default 120 s.
   */
  readonly timeoutMs?: number;
  /**
   * How much of stderr is kept (the tail), for failure messages and {@link ChildRun.stderr}. Default 4,000
   * characters; `Infinity` keeps all of it (to check that a secret appears nowhere).
   */
  readonly stderrTailChars?: number;
}

/** A running (or finished) child process, read line by line. */
export interface SpawnedChild {
  readonly label: string;
  readonly pid: number | undefined;
  /**
   * The underlying Node `ChildProcess`, for code that needs its own view (`exitCode`, `signalCode`,
   * `kill()`). Signals sent through it are seen like any other: {@link exited} still resolves with the end.
   * Its stdout and stderr are the harness's to read; do not consume them.
   */
  readonly process: ChildProcess;
  /** Every complete stdout line so far (a line counts once its `\n` arrived). */
  readonly lines: readonly string[];
  /** Everything written to stdout so far, as written (a last line without `\n` included). */
  readonly stdout: string;
  /** The end of the child, once it exited and its output was read; `undefined` while it runs. */
  readonly exit: ChildExit | undefined;
  /** Resolves (never rejects) when the child has exited and its stdout was read to the end. */
  readonly exited: Promise<ChildExit>;
  /** The last characters written to stderr. */
  stderrTail(): string;
  /** Calls `listener` for every complete stdout line from now on (synchronously as it is read). */
  onLine(listener: (line: string, index: number) => void): () => void;
  /**
   * The first complete stdout line (already read, or to come) that matches. Rejects with `ExitedEarly`
   * when the child ends first, or `Timeout` (and kills the child) after `timeoutMs`.
   */
  waitForLine(match: LineMatch, options?: { timeoutMs?: number }): Promise<string>;
  /** Like {@link waitForLine} for JSON lines: the first line that parses and satisfies `predicate`. */
  waitForJson<T = unknown>(predicate?: (value: T) => boolean, options?: { timeoutMs?: number }): Promise<T>;
  /** Sends `signal` (default SIGKILL) now, without waiting. False when the child already ended. */
  signal(signal?: NodeJS.Signals): boolean;
  /** Sends `signal` (default SIGKILL) and resolves with the child's end. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /** The child's end; rejects with `Timeout` (and kills it) when it lives past `timeoutMs`. */
  waitForExit(options?: { timeoutMs?: number }): Promise<ChildExit>;
  /** A {@link ChildProcessError} naming this child, with its stderr tail and last lines. */
  failure(kind: ChildProcessError["kind"], message: string, cause?: unknown): ChildProcessError;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * SIGKILLs every child started by this module that is still running (for an `afterAll`). Children are also
 * killed when the parent process exits, so a failed test run leaves none behind.
 */
export function killLiveChildren(): number {
  let n = 0;
  for (const c of live) if (c.kill("SIGKILL")) n++;
  return n;
}

/** Lines shown at the end of failure messages. */
const LAST_LINES = 8;
/** After the child's exit, how long its pipes may stay open (a grandchild holding them) before we stop reading. */
const CLOSE_GRACE_MS = 2000;

export function assertTimeout(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0))
    throw new InvalidArgumentError(`${name} must be a finite number of milliseconds >= 0, got ${value}`);
}

export function matcher(match: LineMatch): (line: string) => boolean {
  if (typeof match === "string") return (line) => line === match;
  if (match instanceof RegExp) return (line) => match.test(line);
  return match;
}

export function describeMatch(match: LineMatch): string {
  if (typeof match === "string") return `the line ${JSON.stringify(match)}`;
  if (match instanceof RegExp) return `a line matching ${match}`;
  return "the awaited line";
}

/**
 * Starts a child process with piped stdout/stderr and reads its stdout as lines. The child is killed
 * (SIGKILL) when it outlives `timeoutMs`, by {@link killLiveChildren}, and when this process exits.
 *
 * @example
 * const child = startChild(nodeChild(CLI, ["serve", "--port", "0"], { cwd }));
 * const { address } = await child.waitForJson<{ msg?: string; address?: string }>((l) => l.msg === "listening");
 * // ... drive it over HTTP ...
 * expect(await child.kill()).toEqual({ code: null, signal: "SIGKILL" });
 */
export function startChild(command: ChildCommand, options: StartChildOptions = {}): SpawnedChild {
  assertTimeout("timeoutMs", options.timeoutMs);
  const tail = options.stderrTailChars;
  if (tail !== undefined && !(tail === Number.POSITIVE_INFINITY || (Number.isInteger(tail) && tail >= 0)))
    throw new InvalidArgumentError(`stderrTailChars must be a whole number >= 0 or Infinity, got ${tail}`);
  const label = labelOf(command);
  const tailChars = options.stderrTailChars ?? 4000;
  const lifetime = options.timeoutMs ?? 120_000;
  const lines: string[] = [];
  const listeners = new Set<(line: string, index: number) => void>();
  const endWaiters = new Set<() => void>();
  let stderr = "";
  let partial = "";
  let stdout = "";
  let exit: ChildExit | undefined;
  let timedOut = false;
  let spawnError: Error | undefined;
  let listenerError: { line: string; error: unknown } | undefined;

  const proc = spawn(command.command, [...command.args], {
    cwd: command.cwd,
    env: childEnv(command.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(proc);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => killLiveChildren());
  }

  const emit = (line: string) => {
    const index = lines.push(line) - 1;
    for (const l of [...listeners]) {
      try {
        l(line, index);
      } catch (error) {
        // A throwing parser or predicate fails the run (with the line), not the test process.
        listenerError ??= { line, error };
        proc.kill("SIGKILL");
      }
    }
  };
  proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    let nl = partial.indexOf("\n");
    while (nl >= 0) {
      const line = partial.slice(0, nl).replace(/\r$/, "");
      partial = partial.slice(nl + 1);
      emit(line);
      nl = partial.indexOf("\n");
    }
  });
  proc.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-tailChars);
  });

  const guard = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, lifetime);
  guard.unref();

  const exited = new Promise<ChildExit>((resolve) => {
    let status: ChildExit | undefined;
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      if (exit) return;
      clearTimeout(guard);
      clearTimeout(grace);
      live.delete(proc);
      exit = status ?? { code: proc.exitCode, signal: proc.signalCode };
      for (const w of [...endWaiters]) w();
      resolve(exit);
    };
    proc.on("error", (err) => {
      // Only a child that never started ends here ("exit" follows any other error).
      if (proc.pid !== undefined) return;
      spawnError = err;
      status = { code: null, signal: null };
      finish();
    });
    proc.once("exit", (code, signal) => {
      status = { code, signal };
      grace = setTimeout(() => {
        proc.stdout.destroy();
        proc.stderr.destroy();
        finish();
      }, CLOSE_GRACE_MS);
      grace.unref();
    });
    proc.once("close", (code, signal) => {
      status ??= { code, signal };
      finish();
    });
  });

  const child: SpawnedChild = {
    label,
    get pid() {
      return proc.pid;
    },
    process: proc,
    lines,
    get stdout() {
      return stdout;
    },
    get exit() {
      return exit;
    },
    exited,
    stderrTail: () => stderr,
    failure(kind, message, cause) {
      return new ChildProcessError(kind, message, {
        label,
        ...(exit ? { exit } : {}),
        stderrTail: stderr,
        lastLines: [...lines.slice(-LAST_LINES), ...(partial ? [`${partial} (no newline)`] : [])],
        cause: cause ?? spawnError,
      });
    },
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    waitForLine(match, opts = {}) {
      assertTimeout("timeoutMs", opts.timeoutMs);
      const test = matcher(match);
      const what = describeMatch(match);
      const seen = lines.find((l) => test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(timer);
          off();
          endWaiters.delete(onEnd);
        };
        const off = child.onLine((line) => {
          if (!test(line)) return;
          done();
          resolve(line);
        });
        const onEnd = () => {
          done();
          reject(endedBefore(what));
        };
        if (exit) return onEnd();
        endWaiters.add(onEnd);
        if (opts.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            done();
            proc.kill("SIGKILL");
            void exited.then(() =>
              reject(
                child.failure(
                  "Timeout",
                  `${label} did not print ${what} within ${opts.timeoutMs} ms (killed)`,
                ),
              ),
            );
          }, opts.timeoutMs);
        }
      });
    },
    async waitForJson<T>(predicate?: (value: T) => boolean, opts?: { timeoutMs?: number }) {
      const parse = (line: string): { ok: true; value: T } | undefined => {
        const value = parseJsonLine<T>(line);
        return value !== undefined && (predicate === undefined || predicate(value))
          ? { ok: true, value }
          : undefined;
      };
      const line = await child.waitForLine((l) => parse(l) !== undefined, opts);
      return (parse(line) as { value: T }).value;
    },
    signal(signal = "SIGKILL") {
      if (exit || proc.exitCode !== null || proc.signalCode !== null) return false;
      return proc.kill(signal);
    },
    async kill(signal = "SIGKILL") {
      child.signal(signal);
      return exited;
    },
    async waitForExit(opts = {}) {
      assertTimeout("timeoutMs", opts.timeoutMs);
      if (exit || opts.timeoutMs === undefined) return checked(await exited);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((r) => {
        timer = setTimeout(() => r("late"), opts.timeoutMs);
      });
      const first = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (first !== "late") return checked(first);
      proc.kill("SIGKILL");
      await exited;
      throw child.failure("Timeout", `${label} did not exit within ${opts.timeoutMs} ms (killed)`);
    },
  };

  /** Why the child's run failed on its own (a throwing line listener, no start): undefined when neither. */
  function ownFailure(): ChildProcessError | undefined {
    if (listenerError)
      return child.failure(
        "BadOutput",
        `reading ${label}'s line ${JSON.stringify(listenerError.line)} threw: ${String(listenerError.error)} (killed)`,
        listenerError.error,
      );
    if (spawnError)
      return child.failure(
        "SpawnFailed",
        `${label} could not be started (${command.command}): ${spawnError.message}`,
      );
    return undefined;
  }

  function checked(end: ChildExit): ChildExit {
    const own = ownFailure();
    if (own) throw own;
    if (timedOut) throw child.failure("Timeout", `${label} outlived its ${lifetime} ms limit (killed)`);
    return end;
  }

  function endedBefore(what: string): ChildProcessError {
    const own = ownFailure();
    if (own) return own;
    if (timedOut)
      return child.failure(
        "Timeout",
        `${label} outlived its ${lifetime} ms limit before printing ${what} (killed)`,
      );
    return child.failure(
      "ExitedEarly",
      `${label} ${describeExit(exit as ChildExit)} before printing ${what}`,
    );
  }

  return child;
}

/** `JSON.parse` of a line, or `undefined` when it is not JSON (log noise, a torn line). */
export function parseJsonLine<T = unknown>(line: string): T | undefined {
  const t = line.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return undefined;
  try {
    return JSON.parse(t) as T;
  } catch {
    return undefined;
  }
}

/** A child that ran to its end. */
export interface ChildRun extends ChildExit {
  readonly label: string;
  /** Everything the child wrote to stdout. */
  readonly stdout: string;
  /** Complete stdout lines (a last line without `\n` is only in {@link stdout}). */
  readonly lines: readonly string[];
  /** The stderr tail. */
  readonly stderr: string;
}

/** Options of {@link runChild}. */
export interface RunChildOptions extends StartChildOptions {
  /**
   * The end the test expects: `"success"` (default; exit code 0, anything else rejects with `BadExit`) or
   * `"any"` (e.g. a child that may SIGKILL itself).
   */
  readonly expect?: "success" | "any";
}

/**
 * Runs a child to its end and returns its exit, stdout lines and stderr tail.
 *
 * @example
 * const run = await runChild(tsChild(script, [endpoint, cluster]), { timeoutMs: 55_000 });
 * const result = lastJsonLine<NodeResult>(run);
 */
export async function runChild(command: ChildCommand, options: RunChildOptions = {}): Promise<ChildRun> {
  const child = startChild(command, options);
  const end = await child.waitForExit();
  if ((options.expect ?? "success") === "success" && !(end.code === 0 && end.signal === null))
    throw child.failure("BadExit", `${child.label} ${describeExit(end)}, expected exit code 0`);
  return {
    ...end,
    label: child.label,
    stdout: child.stdout,
    lines: [...child.lines],
    stderr: child.stderrTail(),
  };
}

/**
 * The last line of a finished run's stdout that parses as JSON (a last line without `\n` counts);
 * `BadOutput` when there is none.
 */
export function lastJsonLine<T = unknown>(
  run: Pick<ChildRun, "label" | "stdout" | "stderr"> & Partial<ChildExit>,
): T {
  const lines = run.stdout.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const value = parseJsonLine<T>(lines[i] as string);
    if (value !== undefined) return value;
  }
  throw new ChildProcessError("BadOutput", `${run.label} printed no JSON line`, {
    label: run.label,
    ...(run.code !== undefined && run.signal !== undefined
      ? { exit: { code: run.code, signal: run.signal } }
      : {}),
    stderrTail: run.stderr,
    lastLines: lines.slice(-LAST_LINES),
  });
}
