import type { FileSystem, FileSystemProvider, StorageRoot, StorageScheme } from "@proximadb/core";
import { ConfigError, type NodeConfig } from "./config.js";

/** Opens the file system of one root (never touches storage: adapters connect lazily). */
export type OpenFileSystem = (root: StorageRoot) => FileSystem;

/** Environment variables that may hold secrets (read, never logged). */
export const SECRET_ENV = {
  azure: ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"],
  gcs: ["GOOGLE_APPLICATION_CREDENTIALS"],
  s3: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"],
} as const;

/**
 * Builds the opener for every scheme the configuration uses. Cloud adapters (and their SDKs) are
 * loaded only when a root of their scheme is configured, so a local-only node never loads the AWS SDK.
 * Secrets come from the environment only: S3 from the AWS SDK's standard chain (`AWS_*`, profile,
 * instance metadata), Azure from `AZURE_STORAGE_CONNECTION_STRING`, `AZURE_STORAGE_KEY` or
 * `AZURE_STORAGE_SAS_TOKEN`, GCS from Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`).
 * @throws ConfigError when a scheme's settings are incomplete (e.g. an Azure root without credentials)
 */
export async function fileSystemOpener(
  config: NodeConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OpenFileSystem> {
  const schemes = new Set<StorageScheme>();
  for (const c of Object.values(config.components)) for (const r of c?.roots ?? []) schemes.add(r.scheme);
  const providers = new Map<StorageScheme, FileSystemProvider>();
  for (const scheme of schemes) providers.set(scheme, await PROVIDERS[scheme](config, env));
  return (root) => {
    const provider = providers.get(root.scheme);
    if (!provider) throw new ConfigError("storage", `no adapter for scheme ${root.scheme}:`);
    return provider.open(root);
  };
}

/** Loads a scheme's adapter module and builds its provider from the configuration and environment. */
type ProviderLoader = (config: NodeConfig, env: NodeJS.ProcessEnv) => Promise<FileSystemProvider>;

/** The adapter of every scheme, each module imported only when a root of its scheme is configured. */
const PROVIDERS: Record<StorageScheme, ProviderLoader> = {
  file: async () => (await import("@proximadb/fs-local")).localFileSystemProvider,
  mem: async () => {
    const { memoryFileSystemProvider, sharedMemoryVolume } = await import("@proximadb/fs-memory");
    return memoryFileSystemProvider(sharedMemoryVolume());
  },
  s3: async ({ backends: { s3 } }) =>
    (await import("@proximadb/fs-s3")).s3FileSystemProvider({
      ...(s3?.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3?.region ? { region: s3.region } : {}),
      forcePathStyle: s3?.force_path_style ?? false,
      maxAttempts: s3?.max_attempts ?? 8,
      ...defined({ retryBaseDelayMs: s3?.retry_base_delay_ms, maxRetryDelayMs: s3?.max_retry_delay_ms }),
    }),
  adls: azureProvider,
  gcs: async ({ backends: { gcs } }) =>
    (await import("@proximadb/fs-gcs")).gcsFileSystemProvider({
      ...(gcs?.project_id ? { projectId: gcs.project_id } : {}),
      ...(gcs?.endpoint ? { apiEndpoint: gcs.endpoint } : {}),
      retryOptions: { maxRetries: gcs?.max_retries ?? 7 },
      ...defined({ retryBaseDelayMs: gcs?.retry_base_delay_ms, maxRetryDelayMs: gcs?.max_retry_delay_ms }),
    }),
};

/** Azure: credentials from the first of {@link SECRET_ENV}.azure that is set. */
async function azureProvider(config: NodeConfig, env: NodeJS.ProcessEnv): Promise<FileSystemProvider> {
  const { azureFileSystemProvider } = await import("@proximadb/fs-azure");
  const az = config.backends.azure;
  const retryOptions = {
    maxTries: az?.max_tries ?? 8,
    ...defined({ retryDelayInMs: az?.retry_base_delay_ms, maxRetryDelayInMs: az?.max_retry_delay_ms }),
  };
  const endpoint = az?.endpoint ? { endpoint: az.endpoint } : {};
  if (env.AZURE_STORAGE_CONNECTION_STRING) {
    if (az?.endpoint)
      throw new ConfigError(
        "backends.azure.endpoint",
        "cannot be combined with AZURE_STORAGE_CONNECTION_STRING, which names its own endpoint",
      );
    return azureFileSystemProvider({ connectionString: env.AZURE_STORAGE_CONNECTION_STRING, retryOptions });
  }
  if (env.AZURE_STORAGE_KEY)
    return azureFileSystemProvider({ accountKey: env.AZURE_STORAGE_KEY, retryOptions, ...endpoint });
  if (env.AZURE_STORAGE_SAS_TOKEN)
    return azureFileSystemProvider({ sasToken: env.AZURE_STORAGE_SAS_TOKEN, retryOptions, ...endpoint });
  throw new ConfigError(
    "backends.azure",
    `adls:// roots need credentials in the environment: set one of ${SECRET_ENV.azure.join(", ")}`,
  );
}

/** The entries of `o` that are set (adapters keep their own defaults for the others). */
function defined<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: number;
  };
}
