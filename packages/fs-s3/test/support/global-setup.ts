import { startS3rver } from "@proximadb/testing/emulators/s3rver";
import type { TestProject } from "vitest/node";

/** Connection facts of the shared s3rver, handed to test files with `inject("s3rver")`. */
export interface S3rverFacts {
  endpoint: string;
  port: number;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    s3rver: S3rverFacts;
  }
}

export const TEST_BUCKET = "proximadb-test";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const s3 = await startS3rver({ buckets: [TEST_BUCKET] });
  project.provide("s3rver", {
    endpoint: s3.endpoint,
    port: s3.port,
    region: s3.region,
    bucket: TEST_BUCKET,
    accessKeyId: s3.credentials.accessKeyId,
    secretAccessKey: s3.credentials.secretAccessKey,
  });
  return () => s3.stop();
}
