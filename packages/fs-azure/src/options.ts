import type { TokenCredential } from "@azure/core-auth";
import {
  AnonymousCredential,
  ContainerClient,
  StorageSharedKeyCredential,
  type StoragePipelineOptions,
  type StorageRetryOptions,
} from "@azure/storage-blob";
import { InvalidArgumentError, type StorageRoot } from "@proximadb/core";

/** Settings shared by every way of authenticating. */
export interface AzureCommonOptions {
  /**
   * Blob service endpoint of the account, e.g. Azurite's `http://127.0.0.1:10000/devstoreaccount1`.
   * Default `https://<account>.blob.core.windows.net`. Not allowed with `connectionString` (which names
   * its own) or `containerClient`.
   */
  readonly endpoint?: string;
  /**
   * Retry settings handed to the SDK's pipeline (`maxTries`, `retryDelayInMs`, `maxRetryDelayInMs`,
   * `tryTimeoutInMs`, …), merged over {@link DEFAULT_AZURE_RETRY_OPTIONS}. The SDK retries 500/503 and
   * network errors (not 429, and it ignores `Retry-After`); this adapter has no retry loop of its own.
   * Ignored with `containerClient`.
   */
  readonly retryOptions?: StorageRetryOptions;
  /**
   * The account has a hierarchical namespace (ADLS Gen2). Recorded as a feature; it changes nothing on
   * its own (the blob endpoint behaves the same).
   */
  readonly hierarchicalNamespace?: boolean;
  /**
   * Ask for atomic moves through the DFS rename API. Not available in this adapter (it needs the DFS
   * endpoint, which `@azure/storage-blob` does not speak): `true` throws `Unsupported` at construction,
   * so a configuration that relies on atomic moves fails loudly instead of silently getting copy + delete.
   */
  readonly useDfsRename?: boolean;
  /** Block size of streamed uploads in bytes (default 4 MiB); memory is bounded by about `blockSize × (concurrency + 1)`. */
  readonly streamBlockSize?: number;
  /** Blocks uploaded in parallel by `writeStream` (default 4). */
  readonly streamConcurrency?: number;
  /**
   * @deprecated Ignored: `deleteMany` always sends Blob Batch requests (256 deletes each). Kept so existing
   * configurations still type-check.
   */
  readonly deleteConcurrency?: number;
}

/**
 * How {@link AzureBlobFileSystem} reaches the container: exactly one of `containerClient`,
 * `connectionString`, `accountKey`, `sasToken` or `credential`.
 */
export type AzureFileSystemOptions = AzureCommonOptions &
  (
    | { readonly containerClient: ContainerClient }
    | { readonly connectionString: string }
    | { readonly accountKey: string }
    | { readonly sasToken: string }
    | { readonly credential: TokenCredential }
  );

/**
 * Retry settings the adapter's pipeline starts from. The SDK's own default waits `retryDelayInMs` = 4 s
 * before the second retry (its exponential policy waits `(2^(try-1) - 1) × retryDelayInMs`: 0, 4 s, 12 s,
 * 28 s…, up to 120 s), so every request throttled twice in a row stalled its caller for 4 s or more. From
 * 100 ms: 0, 100, 300, 700, 1,500 ms, capped at 2 s. `tryTimeoutInMs` is the server-side timeout of one
 * try (sent as `timeout=60`): the service ends a try it cannot finish within a minute, and the SDK retries
 * it, instead of holding a write for the service's default (up to 10 minutes per MiB written).
 */
export const DEFAULT_AZURE_RETRY_OPTIONS: Readonly<StorageRetryOptions> = {
  maxTries: 8,
  retryDelayInMs: 100,
  maxRetryDelayInMs: 2000,
  tryTimeoutInMs: 60_000,
};

/** Which of the authentication options was used (safe to show). */
export type AzureAuthMode = "containerClient" | "connectionString" | "accountKey" | "sasToken" | "credential";

const AUTH_MODES: readonly AzureAuthMode[] = [
  "containerClient",
  "connectionString",
  "accountKey",
  "sasToken",
  "credential",
];

/** Returns the one authentication mode set in `options`; throws when none or several are set. */
export function authModeOf(options: AzureFileSystemOptions): AzureAuthMode {
  const o = options as unknown as Record<string, unknown>;
  const set = AUTH_MODES.filter((m) => o[m] !== undefined);
  if (set.length !== 1) {
    throw new InvalidArgumentError(
      `Azure file system options need exactly one of ${AUTH_MODES.join(", ")}; got ${set.length === 0 ? "none" : set.join(", ")}`,
    );
  }
  return set[0] as AzureAuthMode;
}

/** The container client for `root`, built from the options. Validates without logging any secret. */
export function createContainerClient(
  root: StorageRoot,
  options: AzureFileSystemOptions,
  mode: AzureAuthMode,
): ContainerClient {
  const container = root.container as string;
  const account = root.account as string;
  const o = options as unknown as Record<string, unknown>;
  const pipeline: StoragePipelineOptions = {
    userAgentOptions: { userAgentPrefix: "proximadb-fs-azure" },
    retryOptions: azureRetryOptions(options.retryOptions),
  };
  if ((mode === "connectionString" || mode === "containerClient") && options.endpoint !== undefined) {
    throw new InvalidArgumentError(
      `the endpoint option cannot be combined with ${mode} (which names its own endpoint)`,
    );
  }
  const endpoint = (options.endpoint ?? `https://${account}.blob.core.windows.net`).replace(/\/+$/, "");
  if (!/^https?:\/\//.test(endpoint))
    throw new InvalidArgumentError("the endpoint option must be an http(s) URL");
  const containerUrl = `${endpoint}/${container}`;
  switch (mode) {
    case "containerClient": {
      const client = o.containerClient as ContainerClient;
      if (client.containerName !== container) {
        throw new InvalidArgumentError(
          `containerClient is for container '${client.containerName}', but the root names '${container}'`,
        );
      }
      return client;
    }
    case "connectionString":
      return new ContainerClient(o.connectionString as string, container, pipeline);
    case "accountKey":
      return new ContainerClient(
        containerUrl,
        new StorageSharedKeyCredential(account, o.accountKey as string),
        pipeline,
      );
    case "sasToken": {
      const sas = (o.sasToken as string).replace(/^\?/, "");
      return new ContainerClient(`${containerUrl}?${sas}`, new AnonymousCredential(), pipeline);
    }
    case "credential":
      return new ContainerClient(containerUrl, o.credential as TokenCredential, pipeline);
  }
}

/**
 * The retry settings the adapter hands to the SDK: `overrides` (their defined values) over
 * {@link DEFAULT_AZURE_RETRY_OPTIONS}. A partial override such as `{ maxTries: 3 }` keeps the 100 ms
 * base delay instead of falling back to the SDK's 4 s.
 */
export function azureRetryOptions(overrides?: StorageRetryOptions): StorageRetryOptions {
  return { ...DEFAULT_AZURE_RETRY_OPTIONS, ...definedOnly(overrides) };
}

/** The options whose value is not `undefined` (so `{ maxTries: undefined }` keeps the default). */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
