import { randomUUID } from "node:crypto";
import { ContainerClient } from "@azure/storage-blob";
import { inject } from "vitest";
import { AzureBlobFileSystem } from "../src/index.js";
import type { AzureFileSystemOptions } from "../src/options.js";

/** Fast SDK retries for tests (the defaults back off from 4 s). */
export const FAST_RETRIES = { maxTries: 4, retryDelayInMs: 5, maxRetryDelayInMs: 50 } as const;

/** The Azurite instance started by `global-setup.ts`. */
export function azurite() {
  return inject("azurite");
}

/** A fresh, unique prefix in `container` (so test cases never see each other's keys). */
export function freshRoot(container: string): string {
  return `adls://${azurite().accountName}/${container}/run-${randomUUID()}`;
}

/** A file system on a fresh prefix, authenticated with the account key unless `options` says otherwise. */
export function freshFs(container = "unit", options?: Partial<AzureFileSystemOptions>): AzureBlobFileSystem {
  const a = azurite();
  const opts = (options ?? { accountKey: a.accountKey, endpoint: a.blobEndpoint }) as AzureFileSystemOptions;
  return new AzureBlobFileSystem(freshRoot(container), { retryOptions: FAST_RETRIES, ...opts });
}

/** A raw SDK client on a container, to look behind the adapter's back. */
export function rawContainer(container: string): ContainerClient {
  return new ContainerClient(azurite().connectionString, container);
}
