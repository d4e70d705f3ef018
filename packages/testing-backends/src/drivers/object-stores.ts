import { randomUUID } from "node:crypto";
import { type FileSystem, FsError, type StorageRoot, listAll } from "@proximadb/core";
import type { BackendDriver } from "../driver.js";
import type { OpenOverrides } from "../types.js";

/** The bucket (or container) every root set of an emulator lives in, one prefix per set. */
export const TEST_BUCKET = "proximadb-test";

/** Quick SDK retries: the emulators are local, and fault tests want failures surfaced fast. */
const DEFAULT_ATTEMPTS = 3;

interface ObjectStore {
  readonly kind: "s3" | "azure" | "gcs";
  /** HTTP endpoint (scheme, host, port) a fault proxy forwards to. */
  readonly endpoint: string;
  /** `s3://`, `adls://account/`, `gcs://` joined with a bucket-relative path. */
  url(bucket: string, path: string): string;
  open(root: StorageRoot | string, overrides: OpenOverrides): FileSystem;
  stop(): Promise<void>;
}

/** Shared layout of the emulated backends: set `s1` is the prefix `s1/` of {@link TEST_BUCKET}. */
function objectStoreDriver(store: ObjectStore): BackendDriver {
  const setRoot = (set: string) => store.open(store.url(TEST_BUCKET, set), {});
  return {
    kind: store.kind,
    settableMtime: false,
    endpoint: store.endpoint,
    open: (root, overrides = {}) => store.open(root, overrides),
    // A prefix exists as soon as its bucket does: nothing to create.
    createRoots: async (set, names) => names.map((name) => store.url(TEST_BUCKET, `${set}/${name}`)),
    absentUrl: (_set, name) => store.url(`no-such-bucket-${randomUUID().slice(0, 8)}`, name),
    async snapshot(set) {
      const fs = setRoot(set);
      try {
        const out: Record<string, unknown> = {};
        for (const f of (await listAll(fs, "")).files) out[f.key] = [f.size, f.mtimeMs];
        return out;
      } finally {
        await fs.close();
      }
    },
    async removeSet(set) {
      const fs = setRoot(set);
      try {
        const keys = (await listAll(fs, "")).files.map((f) => f.key);
        if (keys.length > 0) await fs.deleteMany(keys);
      } finally {
        await fs.close();
      }
    },
    stop: () => store.stop(),
  };
}

/** s3rver with the AWS SDK v3 client through `S3FileSystem`. */
export async function s3Driver(): Promise<BackendDriver> {
  const [{ startS3rver }, { S3FileSystem }] = await Promise.all([
    import("@proximadb/testing/emulators/s3rver"),
    import("@proximadb/fs-s3"),
  ]);
  const s3 = await startS3rver({ buckets: [TEST_BUCKET] });
  return objectStoreDriver({
    kind: "s3",
    endpoint: s3.endpoint,
    url: (bucket, path) => `s3://${bucket}/${path}`,
    open: (root, o) =>
      new S3FileSystem(root, {
        ...s3.clientConfig,
        endpoint: o.endpoint ?? s3.endpoint,
        maxAttempts: o.attempts ?? DEFAULT_ATTEMPTS,
      }),
    stop: () => s3.stop(),
  });
}

/** Azurite with `@azure/storage-blob` through `AzureBlobFileSystem` (account-key auth). */
export async function azureDriver(): Promise<BackendDriver> {
  const [{ startAzurite }, { AzureBlobFileSystem }] = await Promise.all([
    import("@proximadb/testing/emulators/azurite"),
    import("@proximadb/fs-azure"),
  ]);
  const az = await startAzurite({ containers: [TEST_BUCKET] });
  return objectStoreDriver({
    kind: "azure",
    endpoint: new URL(az.blobEndpoint).origin,
    url: (container, path) => `adls://${az.accountName}/${container}/${path}`,
    open: (root, o) =>
      new AzureBlobFileSystem(root, {
        accountKey: az.accountKey,
        endpoint: o.endpoint === undefined ? az.blobEndpoint : `${o.endpoint}/${az.accountName}`,
        retryOptions: { maxTries: o.attempts ?? DEFAULT_ATTEMPTS, retryDelayInMs: 5, maxRetryDelayInMs: 50 },
      }),
    stop: () => az.stop(),
  });
}

/** The GCS JSON-API server with `@google-cloud/storage` through `GcsFileSystem`. */
export async function gcsDriver(): Promise<BackendDriver> {
  const [{ startGcsServer }, { DEFAULT_GCS_RETRY_OPTIONS, GcsFileSystem }] = await Promise.all([
    import("@proximadb/testing/emulators/gcs-server"),
    import("@proximadb/fs-gcs"),
  ]);
  const gcs = await startGcsServer({ buckets: [TEST_BUCKET] });
  return objectStoreDriver({
    kind: "gcs",
    endpoint: gcs.endpoint,
    url: (bucket, path) => `gcs://${bucket}/${path}`,
    open: (root, o) =>
      new GcsFileSystem(root, {
        apiEndpoint: o.endpoint ?? gcs.endpoint,
        projectId: gcs.projectId,
        retryOptions: { ...DEFAULT_GCS_RETRY_OPTIONS, maxRetries: (o.attempts ?? DEFAULT_ATTEMPTS) - 1 },
      }),
    stop: () => gcs.stop(),
  });
}

/** What `touch` says on a backend whose modification times are the server's. */
export function mtimeUnsupported(root: string): FsError {
  return new FsError("Unsupported", `modification times cannot be set on ${root}`, { root });
}
