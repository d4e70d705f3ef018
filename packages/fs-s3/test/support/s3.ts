import { randomUUID } from "node:crypto";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import { S3FileSystem, type S3FileSystemOptions } from "../../src/index.js";
import type { S3rverFacts } from "./global-setup.js";

export function s3rver(): S3rverFacts {
  return inject("s3rver");
}

/** Client settings for the shared s3rver (or a proxy in front of it when `endpoint` is given). */
export function emulatorOptions(endpoint?: string): S3FileSystemOptions {
  const s = s3rver();
  return {
    endpoint: endpoint ?? s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  };
}

/** A fresh `s3://proximadb-test/<name>-<uuid>` root on the shared s3rver. */
export function freshRoot(name = "t"): string {
  return `s3://${s3rver().bucket}/${name}-${randomUUID()}`;
}

/** An S3FileSystem on a fresh prefix of the shared s3rver. */
export function openFresh(options: S3FileSystemOptions = {}, endpoint?: string): S3FileSystem {
  return new S3FileSystem(freshRoot(), { ...emulatorOptions(endpoint), ...options });
}

/** A raw SDK client on the shared s3rver, to look behind the adapter's back. */
export function rawClient(): S3Client {
  return new S3Client(emulatorOptions() as S3ClientConfig);
}
