import type { FileSystem, StorageRoot, StorageScheme } from "@proximadb/core";
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
  const openers = new Map<StorageScheme, OpenFileSystem>();
  if (schemes.has("file")) {
    const { localFileSystemProvider } = await import("@proximadb/fs-local");
    openers.set("file", (r) => localFileSystemProvider.open(r));
  }
  if (schemes.has("mem")) {
    const { memoryFileSystemProvider, sharedMemoryVolume } = await import("@proximadb/fs-memory");
    const provider = memoryFileSystemProvider(sharedMemoryVolume());
    openers.set("mem", (r) => provider.open(r));
  }
  if (schemes.has("s3")) {
    const { s3FileSystemProvider } = await import("@proximadb/fs-s3");
    const s3 = config.backends.s3;
    const provider = s3FileSystemProvider({
      ...(s3?.endpoint ? { endpoint: s3.endpoint } : {}),
      ...(s3?.region ? { region: s3.region } : {}),
      forcePathStyle: s3?.force_path_style ?? false,
      maxAttempts: s3?.max_attempts ?? 5,
    });
    openers.set("s3", (r) => provider.open(r));
  }
  if (schemes.has("adls")) {
    const { azureFileSystemProvider } = await import("@proximadb/fs-azure");
    const az = config.backends.azure;
    const retryOptions = { maxTries: az?.max_tries ?? 5 };
    const endpoint = az?.endpoint ? { endpoint: az.endpoint } : {};
    let provider: ReturnType<typeof azureFileSystemProvider>;
    if (env.AZURE_STORAGE_CONNECTION_STRING) {
      if (az?.endpoint)
        throw new ConfigError(
          "backends.azure.endpoint",
          "cannot be combined with AZURE_STORAGE_CONNECTION_STRING, which names its own endpoint",
        );
      provider = azureFileSystemProvider({
        connectionString: env.AZURE_STORAGE_CONNECTION_STRING,
        retryOptions,
      });
    } else if (env.AZURE_STORAGE_KEY) {
      provider = azureFileSystemProvider({ accountKey: env.AZURE_STORAGE_KEY, retryOptions, ...endpoint });
    } else if (env.AZURE_STORAGE_SAS_TOKEN) {
      provider = azureFileSystemProvider({
        sasToken: env.AZURE_STORAGE_SAS_TOKEN,
        retryOptions,
        ...endpoint,
      });
    } else {
      throw new ConfigError(
        "backends.azure",
        `adls:// roots need credentials in the environment: set one of ${SECRET_ENV.azure.join(", ")}`,
      );
    }
    openers.set("adls", (r) => provider.open(r));
  }
  if (schemes.has("gcs")) {
    const { gcsFileSystemProvider } = await import("@proximadb/fs-gcs");
    const g = config.backends.gcs;
    const provider = gcsFileSystemProvider({
      ...(g?.project_id ? { projectId: g.project_id } : {}),
      ...(g?.endpoint ? { apiEndpoint: g.endpoint } : {}),
      retryOptions: { maxRetries: g?.max_retries ?? 5 },
    });
    openers.set("gcs", (r) => provider.open(r));
  }
  return (root) => {
    const open = openers.get(root.scheme);
    if (!open) throw new ConfigError("storage", `no adapter for scheme ${root.scheme}:`);
    return open(root);
  };
}
