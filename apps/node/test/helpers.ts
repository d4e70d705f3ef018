import type { ChildProcess } from "node:child_process";
import { mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeChild, runChild, startChild } from "@proximadb/testing/kill-harness";
import { Pool } from "undici";

/**
 * The built binary the tests run (`PROXIMADB_TEST_CLI` runs another build, e.g. the previous release's,
 * to show that a regression test fails there).
 */
export const CLI =
  process.env.PROXIMADB_TEST_CLI ?? join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "cli.js");

/** A fresh temporary folder (real path: macOS-style symlinked tmp dirs would change root URLs). */
export function tempDir(prefix = "proximadb-node-"): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

/** Result of a finished CLI run. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (through the kill harness: no `NODE_OPTIONS` inherited, killed after 120 s). */
export async function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv } = { cwd: process.cwd() },
): Promise<RunResult> {
  const run = await runChild(nodeChild(CLI, args, { cwd: options.cwd, env: options.env }), {
    expect: "any",
    // Tests check that secrets appear nowhere in stderr: keep all of it.
    stderrTailChars: Number.POSITIVE_INFINITY,
  });
  // The whole text, not the lines: stdout may be pretty-printed JSON or end without a newline.
  return { code: run.code, stdout: run.stdout, stderr: run.stderr };
}

/** Sends one request with an optional JSON body through `pool`. */
export function sendJson(pool: Pool, method: string, path: string, body?: unknown) {
  return pool.request({
    method: method as "GET",
    path,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
}

/** A running `proximadb serve`. */
export interface RunningNode {
  readonly child: ChildProcess;
  readonly url: string;
  readonly pool: Pool;
  /** Log lines (stdout) so far. */
  readonly logs: string[];
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string | null>;
  request(
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: responses are arbitrary JSON the tests compare
  ): Promise<{ status: number; json: any; text: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

/** The address of a "listening" log line, as JSON or as a pretty line (`… INFO (proximadb): listening {"address":…}`). */
export function listeningAddress(line: string): string | undefined {
  try {
    const entry = JSON.parse(line) as { msg?: string; address?: string };
    return entry.msg === "listening" ? entry.address : undefined;
  } catch {
    return /\): listening \{"address":"([^"]+)"/.exec(line)?.[1];
  }
}

/**
 * Starts `serve --port 0` in `cwd` (with `options.env` over this process's environment) and waits for its
 * "listening" log line (JSON or pretty; 30 s unless `listenTimeoutMs`). Rejects with the harness's
 * `ExitedEarly` (its exit and stderr tail) when serve ends first.
 */
export async function startNode(
  cwd: string,
  args: string[] = [],
  options: { env?: Record<string, string>; listenTimeoutMs?: number; lifetimeMs?: number } = {},
): Promise<RunningNode> {
  // A node may serve several tests of a file: lift the harness's 120 s default lifetime.
  const env = options.env ? { env: { ...process.env, ...options.env } } : {};
  const child = startChild(nodeChild(CLI, ["serve", "--port", "0", ...args], { cwd, ...env }), {
    timeoutMs: options.lifetimeMs ?? 15 * 60_000,
    stderrTailChars: Number.POSITIVE_INFINITY,
  });
  const url = listeningAddress(
    await child.waitForLine((line) => listeningAddress(line) !== undefined, {
      timeoutMs: options.listenTimeoutMs ?? 30_000,
    }),
  ) as string;
  const pool = new Pool(url, { connections: 16, pipelining: 1 });
  // The harness resolves once the child exited and every line it wrote was read.
  const exited = child.exited.then((e) => e.code ?? e.signal);
  return {
    child: child.process,
    url,
    pool,
    logs: child.lines as string[],
    exited,
    async request(method, path, body) {
      const res = await sendJson(pool, method, path, body);
      const text = await res.body.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json, text };
    },
    async stop(signal = "SIGTERM") {
      await pool.close().catch(() => undefined);
      const e = await child.kill(signal);
      return e.code ?? e.signal;
    },
  };
}

/** A promise and the function that resolves it: a test holds work at a point and lets it go. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
