/**
 * Launches Azurite's blob service (Microsoft's Azure Storage emulator) for tests and benchmarks.
 *
 * Azurite runs as a child process from its own bin (`azurite-blob`), so its dependencies never load
 * into the test process. It listens on a free loopback port (`--blobPort 0`; the port is read from its
 * start-up line), keeps everything in memory (`--inMemoryPersistence`), accepts every API version the
 * SDK sends (`--skipApiVersionCheck`) and prints no access log (`--silent`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Azurite's well-known development account name. */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";
/** Azurite's well-known development account key (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** Containers to create once the emulator answers (names need 3–63 lowercase characters). */
  readonly containers?: readonly string[];
  /** Extra command-line flags, e.g. `["--loose"]`. */
  readonly extraArgs?: readonly string[];
  /** Milliseconds to wait for the emulator to start (default 30 000). */
  readonly startTimeoutMs?: number;
}

/** A running Azurite blob service. */
export interface AzuriteInstance {
  /** `http://127.0.0.1:PORT/devstoreaccount1`: the account's blob endpoint (path-style). */
  readonly blobEndpoint: string;
  /** Loopback port Azurite listens on. */
  readonly port: number;
  /** Always {@link AZURITE_ACCOUNT_NAME}. */
  readonly accountName: typeof AZURITE_ACCOUNT_NAME;
  /** Always {@link AZURITE_ACCOUNT_KEY}. */
  readonly accountKey: string;
  /** A connection string for this instance (`DefaultEndpointsProtocol=http;…;BlobEndpoint=…`). */
  readonly connectionString: string;
  /** Creates a container (succeeds when it already exists). */
  createContainer(name: string): Promise<void>;
  /** Stops the emulator and removes its work folder. */
  stop(): Promise<void>;
}

function azuriteBlobMain(): string {
  const require = createRequire(import.meta.url);
  // azurite's package.json has no "exports" map, so its files resolve directly.
  const pkg = require.resolve("azurite/package.json");
  return join(dirname(pkg), "dist", "src", "blob", "main.js");
}

function waitForPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`Azurite did not answer on 127.0.0.1:${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Signs and sends a Create Container request with the development account's shared key.
 * (Hand-signed so that `@proximadb/testing` needs no Azure SDK of its own.)
 */
async function putContainer(blobEndpoint: string, name: string): Promise<void> {
  const version = "2021-12-02";
  const date = new Date().toUTCString();
  const url = new URL(`${blobEndpoint}/${encodeURIComponent(name)}?restype=container`);
  const canonicalHeaders = `x-ms-date:${date}\nx-ms-version:${version}\n`;
  // Path-style emulator URLs carry the account in the path, so the canonical resource names it twice.
  const canonicalResource = `/${AZURITE_ACCOUNT_NAME}${url.pathname}\nrestype:container`;
  // VERB, Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
  // If-None-Match, If-Unmodified-Since, Range, then the canonical headers and resource.
  const stringToSign = `PUT\n\n\n\n\n\n\n\n\n\n\n\n${canonicalHeaders}${canonicalResource}`;
  const signature = createHmac("sha256", Buffer.from(AZURITE_ACCOUNT_KEY, "base64"))
    .update(stringToSign, "utf8")
    .digest("base64");
  const res = await fetch(url, {
    method: "PUT",
    headers: {
      "x-ms-date": date,
      "x-ms-version": version,
      authorization: `SharedKey ${AZURITE_ACCOUNT_NAME}:${signature}`,
    },
  });
  await res.arrayBuffer();
  if (res.status !== 201 && res.status !== 409) {
    throw new Error(`Azurite: creating container ${JSON.stringify(name)} answered HTTP ${res.status}`);
  }
}

/**
 * Starts Azurite's blob service on a free loopback port and (optionally) creates containers.
 *
 * @example
 * const azurite = await startAzurite({ containers: ["data"] });
 * const fs = new AzureBlobFileSystem("adls://devstoreaccount1/data/p", { connectionString: azurite.connectionString });
 * await azurite.stop();
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const workDir = await mkdtemp(join(tmpdir(), "azurite-"));
  const args = [
    azuriteBlobMain(),
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--inMemoryPersistence",
    "--skipApiVersionCheck",
    "--disableTelemetry",
    "--silent",
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: workDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);

  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(
        () => reject(new Error(`Azurite did not start: ${out.slice(-500)}`)),
        Math.max(0, deadline - Date.now()),
      );
      const onData = (chunk: Buffer) => {
        out += chunk.toString("utf8");
        const m = /listens on https?:\/\/[^:\s]+:(\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout?.on("data", onData);
      child.stderr?.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Azurite exited with code ${code}: ${out.slice(-500)}`));
      });
    });
    // Keep draining its output so a full pipe never blocks it.
    child.stdout?.resume();
    child.stderr?.resume();
    await waitForPort(port, deadline);
  } catch (err) {
    child.kill("SIGKILL");
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }

  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`;
  let stopped: Promise<void> | undefined;
  const instance: AzuriteInstance = {
    blobEndpoint,
    port,
    accountName: AZURITE_ACCOUNT_NAME,
    accountKey: AZURITE_ACCOUNT_KEY,
    connectionString,
    createContainer: (name) => putContainer(blobEndpoint, name),
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(workDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  try {
    for (const name of options.containers ?? []) await instance.createContainer(name);
  } catch (err) {
    await instance.stop();
    throw err;
  }
  return instance;
}
