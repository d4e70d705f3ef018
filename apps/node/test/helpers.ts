import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** Runs the CLI to completion. */
export function runCli(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv } = { cwd: process.cwd() },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
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

/** Starts `serve --port 0` in `cwd` and waits for its "listening" log line. */
export function startNode(cwd: string, args: string[] = []): Promise<RunningNode> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], {
      cwd,
      env: { ...process.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs: string[] = [];
    let stderr = "";
    let buffered = "";
    let started = false;
    // "close", not "exit": every line the child wrote has been read by then.
    const exited = new Promise<number | string | null>((r) =>
      child.on("close", (code, signal) => r(code ?? signal)),
    );
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    child.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        logs.push(line);
        nl = buffered.indexOf("\n");
        if (started) continue;
        const address = listeningAddress(line);
        if (address) {
          started = true;
          const url = address;
          const pool = new Pool(url, { connections: 16, pipelining: 1 });
          const node: RunningNode = {
            child,
            url,
            pool,
            logs,
            exited,
            async request(method, path, body) {
              const res = await pool.request({
                method: method as "GET",
                path,
                ...(body === undefined
                  ? {}
                  : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
              });
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
              child.kill(signal);
              return exited;
            },
          };
          resolve(node);
        }
      }
    });
    exited.then((code) => {
      if (!started) reject(new Error(`serve exited (${code}) before listening: ${stderr}`));
    });
  });
}
