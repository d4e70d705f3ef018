import { randomUUID } from "node:crypto";
import { type FileSystem, listAll } from "@proximadb/core";
import { AzureBlobFileSystem } from "@proximadb/fs-azure";
import { DEFAULT_GCS_RETRY_OPTIONS, GcsFileSystem } from "@proximadb/fs-gcs";
import { S3FileSystem } from "@proximadb/fs-s3";
import { startAzurite } from "@proximadb/testing/emulators/azurite";
import { startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { startS3rver } from "@proximadb/testing/emulators/s3rver";
import pLimit from "p-limit";
import type { Backend, Tree } from "./backends.js";

/** One running emulator, opened through its real adapter. */
export interface ObjectStore {
  name: string;
  /** Base URL of the emulator's HTTP endpoint (what a fault proxy forwards to). */
  target: string;
  /** Opens a root; `endpoint` replaces the emulator's (a fault proxy in front of it). */
  open(url: string, endpoint?: string): FileSystem;
  /** URL of a root under `run` in the test bucket/container. */
  url(run: string, name: string): string;
  /** URL of a root in a bucket/container that does not exist. */
  absentUrl(name: string): string;
  stop(): Promise<void>;
}

const BUCKET = "discovery-test";

export async function startS3Store(): Promise<ObjectStore> {
  const s3 = await startS3rver({ buckets: [BUCKET] });
  const options = (endpoint?: string) => ({
    ...s3.clientConfig,
    endpoint: endpoint ?? s3.endpoint,
    maxAttempts: 2,
  });
  return {
    name: "s3rver",
    target: s3.endpoint,
    open: (url, endpoint) => new S3FileSystem(url, options(endpoint)),
    url: (run, name) => `s3://${BUCKET}/${run}/${name}`,
    absentUrl: (name) => `s3://no-such-bucket-${randomUUID().slice(0, 8)}/${name}`,
    stop: () => s3.stop(),
  };
}

export async function startAzureStore(): Promise<ObjectStore> {
  const az = await startAzurite({ containers: [BUCKET] });
  const retryOptions = { maxTries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 };
  return {
    name: "Azurite",
    target: new URL(az.blobEndpoint).origin,
    open: (url, endpoint) =>
      new AzureBlobFileSystem(url, {
        accountKey: az.accountKey,
        endpoint: endpoint ? `${endpoint}/${az.accountName}` : az.blobEndpoint,
        retryOptions,
      }),
    url: (run, name) => `adls://${az.accountName}/${BUCKET}/${run}/${name}`,
    absentUrl: (name) => `adls://${az.accountName}/no-such-${randomUUID().slice(0, 8)}/${name}`,
    stop: () => az.stop(),
  };
}

export async function startGcsStore(): Promise<ObjectStore> {
  const gcs = await startGcsServer({ buckets: [BUCKET] });
  return {
    name: "GCS server",
    target: gcs.endpoint,
    open: (url, endpoint) =>
      new GcsFileSystem(url, {
        apiEndpoint: endpoint ?? gcs.endpoint,
        projectId: gcs.projectId,
        retryOptions: { ...DEFAULT_GCS_RETRY_OPTIONS, maxRetries: 1 },
      }),
    url: (run, name) => `gcs://${BUCKET}/${run}/${name}`,
    absentUrl: (name) => `gcs://no-such-bucket-${randomUUID().slice(0, 8)}/${name}`,
    stop: () => gcs.stop(),
  };
}

/** A discovery {@link Backend} on an emulator started on first use and stopped by `cleanup`. */
export function objectStoreBackend(
  name: string,
  start: () => Promise<ObjectStore>,
): Backend & { store(): Promise<ObjectStore> } {
  let store: Promise<ObjectStore> | undefined;
  const get = () => {
    store ??= start();
    return store;
  };
  return {
    name,
    store: get,
    async build(tree: Tree) {
      const s = await get();
      const run = `run-${randomUUID()}`;
      const limit = pLimit(16);
      const roots = Object.keys(tree).map((n) => s.open(s.url(run, n)));
      await Promise.all(
        Object.values(tree).flatMap((files, i) =>
          Object.entries(files).map(([key, spec]) =>
            limit(() => (roots[i] as FileSystem).write(key, typeof spec === "string" ? spec : spec.data)),
          ),
        ),
      );
      const whole = s.open(s.url(run, "").replace(/\/$/, ""));
      return {
        roots,
        absent: (n) => s.open(s.absentUrl(n)),
        snapshot: async () => (await listAll(whole, "")).files.map((f) => [f.key, f.size, f.mtimeMs]),
        settableMtime: false,
      };
    },
    async cleanup() {
      if (store) await (await store).stop();
    },
  };
}
