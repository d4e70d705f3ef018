/**
 * Launcher for the `s3rver` S3 emulator: a child Node.js process on a free 127.0.0.1 port, with its own
 * temporary directory, silent. Used by `fs-s3` tests (vitest `globalSetup`) and benchmarks.
 *
 * Why a child process: s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only
 * offers through its legacy provider (`--openssl-legacy-provider`, a process-wide start-up flag). Without
 * it every paginated listing fails with a 500. A child also keeps the emulator's CPU off the event loop
 * of the client being tested or measured.
 *
 * s3rver is resolved with `createRequire` and loaded only in the child, so neither its (missing) types
 * nor its module graph leak into `@proximadb/testing`'s index.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
/** The client settings s3rver needs, shaped like `S3ClientConfig` from `@aws-sdk/client-s3`. */
export interface S3rverClientConfig {
  readonly endpoint: string;
  readonly region: string;
  /** s3rver serves buckets by path (`http://127.0.0.1:port/bucket/key`), not by virtual host. */
  readonly forcePathStyle: true;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * With the SDK default (`WHEN_SUPPORTED`) streaming uploads use aws-chunked framing with trailing
   * checksums, which s3rver stores verbatim as the object body. `WHEN_REQUIRED` sends plain bodies.
   */
  readonly requestChecksumCalculation: "WHEN_REQUIRED";
  readonly responseChecksumValidation: "WHEN_REQUIRED";
}

/** A running s3rver instance. */
export interface S3rverInstance {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** s3rver's built-in account (`S3RVER` / `S3RVER`); requests signed with any other key are refused with 403. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Everything an `S3Client` needs to talk to this instance. */
  readonly clientConfig: S3rverClientConfig;
  /** Creates a bucket (idempotent). */
  createBucket(name: string): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Options of {@link startS3rver}. */
export interface StartS3rverOptions {
  /** Buckets to create before the server starts accepting requests. */
  readonly buckets?: readonly string[];
}

const require = createRequire(import.meta.url);

/**
 * s3rver lists in directory-walk order and does not descend below a common prefix. Both differ from S3:
 * S3 lists keys in UTF-8 byte order (so `many-other/x` comes before `many/…`, and s3rver's pages, which
 * resume after the last key, skipped such keys at page boundaries), and a common prefix appears whenever
 * any key lies below it (s3rver hid `c2/` when `c2/` held only sub-folders). The child replaces the
 * store's listing with one that walks the whole prefix and sorts by UTF-8 bytes; like s3rver, common
 * prefixes do not count against MaxKeys and the continuation token is the page's last key; a page ends at the
 * first key past a full page, so one prefix never appears on two pages.
 */
const LIST_PATCH = `
const store = server.store;
const SUFFIX = "._S3rver_object";
const utf8 = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));
store.listObjects = async function (bucket, options) {
  const { delimiter = "", startAfter = "", prefix = "", maxKeys = Infinity } = options;
  const bucketPath = this.getBucketPath(bucket);
  const keys = [];
  const walk = (dir, rel) => {
    let entries;
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const r = rel ? rel + "/" + e.name : e.name;
      if (e.isDirectory()) {
        if (r.startsWith(prefix) || prefix.startsWith(r + "/")) walk(path.join(dir, e.name), r);
      } else if (e.name.endsWith(SUFFIX)) {
        const key = r.slice(0, -SUFFIX.length);
        if (key.startsWith(prefix)) keys.push(key);
      }
    }
  };
  walk(bucketPath, "");
  keys.sort(utf8);
  const out = [];
  const prefixes = new Set();
  let isTruncated = false;
  for (const key of keys) {
    if (utf8(key, startAfter) <= 0) continue;
    // Stop at the first key past a full page, so a prefix is never split across two pages.
    if (out.length >= maxKeys) { isTruncated = true; break; }
    if (delimiter) {
      const idx = key.indexOf(delimiter, prefix.length);
      if (idx !== -1) { prefixes.add(key.slice(0, idx + delimiter.length)); continue; }
    }
    out.push(key);
  }
  const S3Object = require(path.join(path.dirname(process.env.S3RVER_MODULE), "models", "object"));
  const metas = await Promise.all(out.map((k) => this.getMetadata(bucket, k).catch(() => undefined)));
  return {
    objects: out.map((k, i) => metas[i] && new S3Object(bucket, k, null, metas[i])).filter(Boolean),
    commonPrefixes: [...prefixes].sort(utf8),
    isTruncated,
  };
};
`;

/**
 * The child's program (CommonJS, run with `node -e`). s3rver decodes `x-amz-copy-source` with `decodeURI`,
 * which leaves reserved characters such as `%2B` (`+`), `%3D` or `%40` encoded, so a copy of `a+b` looks for
 * a key literally named `a%2Bb`. AWS fully percent-decodes the header, and adapters must send it encoded
 * (a raw `+` would mean a space on AWS). The child re-encodes the header before s3rver reads it, so that
 * s3rver's `decodeURI` yields the key AWS would see.
 */
const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
const fs = require("node:fs");
const path = require("node:path");
const { directory, buckets } = JSON.parse(process.env.S3RVER_OPTIONS);
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: !process.env.S3RVER_DEBUG, directory, configureBuckets: buckets.map((name) => ({ name })) });
${LIST_PATCH}
server.run().then((address) => {
  server.httpServer.prependListener("request", (req) => {
    const raw = req.headers["x-amz-copy-source"];
    if (typeof raw !== "string") return;
    try { req.headers["x-amz-copy-source"] = encodeURI(decodeURIComponent(raw)); } catch {}
  });
  process.send({ port: address.port });
}, (err) => { process.send({ error: String(err && err.message) }); process.exit(1); });
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
`;

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** An unsigned `PUT /<bucket>`: s3rver accepts unauthenticated requests. */
function putBucket(port: number, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method: "PUT", path: `/${encodeURIComponent(name)}` },
      (res) => {
        res.resume();
        res.on("end", () => {
          const ok = res.statusCode !== undefined && res.statusCode < 300;
          // 409 BucketAlreadyExists / BucketAlreadyOwnedByYou: creating is idempotent here.
          if (ok || res.statusCode === 409) resolve();
          else
            reject(
              new Error(`s3rver refused to create bucket ${JSON.stringify(name)}: HTTP ${res.statusCode}`),
            );
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/**
 * Starts s3rver in a child process on a free loopback port with a fresh temporary directory.
 *
 * @example
 * const s3 = await startS3rver({ buckets: ["test"] });
 * const client = new S3Client(s3.clientConfig);
 * // ...
 * await s3.stop();
 */
export async function startS3rver(options: StartS3rverOptions = {}): Promise<S3rverInstance> {
  const directory = await mkdtemp(join(tmpdir(), "proximadb-s3rver-"));
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD], {
    stdio: process.env.S3RVER_DEBUG
      ? ["ignore", "inherit", "inherit", "ipc"]
      : ["ignore", "ignore", "pipe", "ipc"],
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      S3RVER_MODULE: require.resolve("s3rver"),
      S3RVER_OPTIONS: JSON.stringify({ directory, buckets: options.buckets ?? [] }),
    },
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      child.once("message", (m: { port?: number; error?: string }) =>
        m.port ? resolve(m.port) : reject(new Error(`s3rver failed to start: ${m.error}`)),
      );
      child.once("exit", (code) =>
        reject(new Error(`s3rver exited with code ${code} before listening: ${stderr}`)),
      );
      child.once("error", reject);
    });
  } catch (err) {
    child.kill("SIGKILL");
    await waitForExit(child);
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const region = "us-east-1";
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    region,
    credentials,
    clientConfig: {
      endpoint,
      region,
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    },
    createBucket: (name: string) => putBucket(port, name),
    stop() {
      stopped ??= (async () => {
        child.kill("SIGTERM");
        await waitForExit(child);
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
