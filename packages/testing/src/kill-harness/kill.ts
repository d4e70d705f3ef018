import { InvalidArgumentError } from "@proximadb/core";
import {
  type LineMatch,
  type StartChildOptions,
  assertTimeout,
  describeMatch,
  matcher,
  startChild,
} from "./child.js";
import type { ChildCommand } from "./command.js";
import { type ChildExit, describeExit } from "./errors.js";

/** When {@link runAndKill} sends SIGKILL. */
export interface KillOptions<A> extends StartChildOptions {
  /**
   * Reads one complete stdout line: the value it acknowledges, or `undefined` for any other line. A child
   * prints a line only after the work it acknowledges is done (stdout to a pipe is synchronous on Linux, so
   * a printed line is in the pipe before the next instruction runs).
   */
  readonly ack: (line: string) => A | undefined;
  /** The line that starts the kill clock (e.g. `"READY"`). Default: the first acknowledgement. */
  readonly armOn?: LineMatch;
  /** Milliseconds from arming to SIGKILL. Default 0 when `afterAcks` is not given. */
  readonly delayMs?: number;
  /** SIGKILL as soon as this many acknowledgements were read (counted from the start). */
  readonly afterAcks?: number;
  /** How long the child may take to arm. Default 60 s; then it is killed and the run rejects (`Timeout`). */
  readonly armTimeoutMs?: number;
}

/** What {@link runAndKill} saw. */
export interface KillRun<A> {
  readonly label: string;
  /**
   * Every acknowledgement in the child's complete stdout lines, in order, including lines still in the pipe
   * when the signal was sent (they were printed before the child died). A torn last line is not one.
   */
  readonly acked: A[];
  /** Acknowledgements the parent had read when it sent SIGKILL. */
  readonly acksAtKill: number;
  /** Milliseconds from arming to the signal (at least `delayMs`). */
  readonly killedAfterMs: number;
  readonly lines: readonly string[];
  readonly stderr: string;
  /** Always `{ code: null, signal: "SIGKILL" }`: any other end rejects. */
  readonly exit: ChildExit;
}

/**
 * Starts a child, waits until it arms (its `armOn` line, or its first acknowledgement), SIGKILLs it after
 * `delayMs` or at its `afterAcks`-th acknowledgement, and returns what it acknowledged before dying.
 *
 * Rejects with a {@link ChildProcessError} naming the child and its stderr tail when the child exits
 * before arming (`ExitedEarly`), exits on its own before the kill (`NotKilled`), or does not arm in time
 * (`Timeout`).
 *
 * @example
 * const run = await runAndKill(tsChild(childScript, [rootUrl]), {
 *   armOn: "READY",
 *   delayMs: randomInt(random, 20, 400),
 *   ack: (line) => parseJsonLine<{ id: string; seq: number }>(line),
 * });
 * // reopen the store and check that every run.acked record is there
 */
export async function runAndKill<A>(command: ChildCommand, options: KillOptions<A>): Promise<KillRun<A>> {
  assertTimeout("delayMs", options.delayMs);
  assertTimeout("armTimeoutMs", options.armTimeoutMs);
  if (options.afterAcks !== undefined && !(Number.isInteger(options.afterAcks) && options.afterAcks >= 1))
    throw new InvalidArgumentError(`afterAcks must be a whole number >= 1, got ${options.afterAcks}`);
  const child = startChild(command, options);
  const acked: A[] = [];
  const armedBy = options.armOn === undefined ? undefined : matcher(options.armOn);
  const delay = options.delayMs ?? (options.afterAcks === undefined ? 0 : undefined);
  let armedAt: number | undefined;
  let killedAt: number | undefined;
  let acksAtKill = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const armLimit = options.armTimeoutMs ?? 60_000;
  let armTimedOut = false;
  const armGuard = setTimeout(() => {
    armTimedOut = true;
    child.signal("SIGKILL");
  }, armLimit);

  const kill = () => {
    if (killedAt !== undefined) return;
    killedAt = performance.now();
    acksAtKill = acked.length;
    clearTimeout(killTimer);
    child.signal("SIGKILL");
  };
  const arm = () => {
    if (armedAt !== undefined) return;
    armedAt = performance.now();
    clearTimeout(armGuard);
    if (options.afterAcks !== undefined && acked.length >= options.afterAcks) return kill();
    if (delay !== undefined) killTimer = setTimeout(killWhenDue, delay);
  };
  // Node's timers may fire a fraction of a millisecond before `performance.now()` says the delay passed:
  // wait out the remainder so `killedAfterMs >= delayMs` always holds.
  const killWhenDue = () => {
    const left = (armedAt ?? 0) + (delay ?? 0) - performance.now();
    if (left > 0) killTimer = setTimeout(killWhenDue, Math.ceil(left));
    else kill();
  };
  child.onLine((line) => {
    if (armedBy?.(line)) arm();
    const value = options.ack(line);
    if (value === undefined) return;
    acked.push(value);
    if (armedBy === undefined) arm();
    if (options.afterAcks !== undefined && acked.length >= options.afterAcks && armedAt !== undefined) kill();
  });
  const what = options.armOn === undefined ? "its first acknowledgement" : describeMatch(options.armOn);
  let end: ChildExit;
  try {
    end = await child.waitForExit();
  } finally {
    clearTimeout(armGuard);
    clearTimeout(killTimer);
  }
  if (armedAt === undefined) {
    if (armTimedOut)
      throw child.failure("Timeout", `${child.label} did not print ${what} within ${armLimit} ms (killed)`);
    throw child.failure("ExitedEarly", `${child.label} ${describeExit(end)} before printing ${what}`);
  }
  if (killedAt === undefined || end.signal !== "SIGKILL")
    throw child.failure(
      "NotKilled",
      `${child.label} ${describeExit(end)} on its own after arming, before the harness killed it (${acked.length} acknowledgements)`,
    );
  return {
    label: child.label,
    acked,
    acksAtKill,
    killedAfterMs: killedAt - armedAt,
    lines: [...child.lines],
    stderr: child.stderrTail(),
    exit: end,
  };
}
