import { type AzuriteInstance, startAzurite } from "@proximadb/testing/emulators/azurite";
import type { TestProject } from "vitest/node";

/** Containers every test file may use; tests add their own prefixes inside them. */
export const TEST_CONTAINERS = ["conformance", "unit", "faults"] as const;

declare module "vitest" {
  export interface ProvidedContext {
    azurite: { blobEndpoint: string; accountName: string; accountKey: string; connectionString: string };
  }
}

let azurite: AzuriteInstance | undefined;

export async function setup(project: TestProject): Promise<void> {
  azurite = await startAzurite({ containers: [...TEST_CONTAINERS] });
  project.provide("azurite", {
    blobEndpoint: azurite.blobEndpoint,
    accountName: azurite.accountName,
    accountKey: azurite.accountKey,
    connectionString: azurite.connectionString,
  });
}

export async function teardown(): Promise<void> {
  await azurite?.stop();
}
