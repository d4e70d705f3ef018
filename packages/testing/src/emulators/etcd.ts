import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** The etcd binary. Default: `$ETCD_BIN`, else `etcd` on the PATH (Debian package `etcd-server`). */
  readonly binary?: string;
  /** Data directory. Default: a new temporary directory, removed by `stop()`. */
  readonly dataDir?: string;
  /** How long to wait for `/health` to report healthy. Default 20 s. */
  readonly startTimeoutMs?: number;
  /** Extra command-line flags (e.g. `--max-txn-ops=256`). */
  readonly extraArgs?: readonly string[];
}

/** A running single-member etcd cluster on loopback ports. */
export interface EtcdServer {
  /** Client URL, `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** Stops the server (SIGTERM) and removes the data directory when it was created by {@link startEtcd}. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL (a crash); the data directory stays for {@link restart}. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports with the same data directory; resolves when healthy. */
  restart(): Promise<void>;
}

/** Thrown when the etcd binary is not installed. */
export class EtcdNotInstalledError extends Error {
  constructor(binary: string) {
    super(
      `etcd binary ${JSON.stringify(binary)} not found: install it with \`apt-get install -y etcd-server\` (Debian) or set ETCD_BIN`,
    );
    this.name = "EtcdNotInstalledError";
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the socket is closed before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function assertInstalled(binary: string): void {
  const probe = spawnSync(binary, ["--version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) throw new EtcdNotInstalledError(binary);
}

/**
 * Starts the real `etcd` server (Debian package `etcd-server`) on free loopback ports with a
 * temporary data directory and waits until it reports healthy. Never skips: a missing binary is an
 * {@link EtcdNotInstalledError} saying how to install it.
 *
 * @example
 * const etcd = await startEtcd();
 * const client = new Etcd3({ hosts: etcd.endpoint });
 * // ...
 * await etcd.stop();
 */
export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const binary = options.binary ?? process.env.ETCD_BIN ?? "etcd";
  assertInstalled(binary);
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "proximadb-etcd-"));
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name=proximadb-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${endpoint}`,
    `--advertise-client-urls=${endpoint}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=proximadb-test=${peer}`,
    "--initial-cluster-state=new",
    "--log-level=error",
    "--logger=zap",
    ...(options.extraArgs ?? []),
  ];
  const timeout = options.startTimeoutMs ?? 20_000;
  let child: ChildProcess | undefined;
  let log = "";

  const launch = async (): Promise<void> => {
    log = "";
    const proc = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    let exited: string | undefined;
    proc.once("exit", (code, signal) => {
      exited = `etcd exited (code ${code}, signal ${signal})`;
    });
    proc.once("error", (err) => {
      exited = `etcd failed to start: ${err.message}`;
    });
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${exited}\n${log}`);
      try {
        const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = (await res.json()) as { health?: string };
        if (res.ok && body.health === "true") return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill("SIGKILL");
    throw new Error(`etcd did not become healthy within ${timeout} ms\n${log}`);
  };

  const terminate = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  };

  await launch();
  return {
    endpoint,
    clientPort,
    peerPort,
    dataDir,
    async stop() {
      await terminate("SIGTERM");
      if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    kill: () => terminate("SIGKILL"),
    async restart() {
      await terminate("SIGTERM");
      await launch();
    },
  };
}
