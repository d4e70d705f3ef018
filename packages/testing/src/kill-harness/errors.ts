/** How a child process let its test down. */
export type ChildProcessErrorKind =
  /** The executable could not be started (missing binary, missing `tsx`). */
  | "SpawnFailed"
  /** The child exited before printing the line the test waited for. */
  | "ExitedEarly"
  /** The child did not print the awaited line, or did not exit, in time (it was killed). */
  | "Timeout"
  /** The child exited on its own (or by another signal) before the harness killed it. */
  | "NotKilled"
  /** The child ran to its end with an exit other than the one expected. */
  | "BadExit"
  /** The child's output is not what the test expected (e.g. no JSON line). */
  | "BadOutput";

/** The end of a child process: exit code, or the signal that ended it. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A child process under test misbehaved. The message names the child, what was awaited, how it ended, the
 * tail of its stderr and its last stdout lines, so a failing crash test says why without a re-run.
 *
 * It extends `Error`, not core's `ProximaError`: it reports a failed test fixture, never a storage
 * situation a caller branches on (like `EtcdNotInstalledError` beside it).
 */
export class ChildProcessError extends Error {
  readonly kind: ChildProcessErrorKind;
  /** The child's label (its script's file name unless given). */
  readonly label: string;
  /** How the child ended, when it did. */
  readonly exit: ChildExit | undefined;
  /** The last characters the child wrote to stderr. */
  readonly stderrTail: string;

  constructor(
    kind: ChildProcessErrorKind,
    message: string,
    details: {
      label: string;
      exit?: ChildExit;
      stderrTail?: string;
      lastLines?: readonly string[];
      cause?: unknown;
    },
  ) {
    const stderr = details.stderrTail ?? "";
    const lines = details.lastLines ?? [];
    const text = [
      message,
      `--- stderr of ${details.label} (last ${stderr.length} chars) ---`,
      stderr.length > 0 ? stderr.replace(/\s+$/, "") : "(empty)",
      `--- stdout of ${details.label} (last ${lines.length} lines) ---`,
      lines.length > 0 ? lines.join("\n") : "(none)",
    ].join("\n");
    super(text, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ChildProcessError";
    this.kind = kind;
    this.label = details.label;
    this.exit = details.exit;
    this.stderrTail = stderr;
  }
}

/** `exited with code 1`, `was killed by SIGKILL`. */
export function describeExit(exit: ChildExit): string {
  return exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}
