import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    gcsEndpoint: string;
    gcsProjectId: string;
    gcsBucket: string;
  }
}

let server: GcsServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startGcsServer({ buckets: ["proximadb-conformance"] });
  project.provide("gcsEndpoint", server.endpoint);
  project.provide("gcsProjectId", server.projectId);
  project.provide("gcsBucket", "proximadb-conformance");
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
