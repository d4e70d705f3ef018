import { describeFileSystem } from "@proximadb/testing/conformance";
import { inject } from "vitest";
import { GcsFileSystem } from "../src/index.js";

const endpoint = inject("gcsEndpoint");
const projectId = inject("gcsProjectId");
const bucket = inject("gcsBucket");
let n = 0;

// Each case gets a fresh, empty root: a new prefix in the shared test bucket of the GCS test server
// (a separate process from these tests, so the streaming memory bounds measure the adapter alone).
describeFileSystem("fs-gcs", {
  create: () =>
    new GcsFileSystem(`gcs://${bucket}/conformance-${process.pid}-${++n}`, {
      apiEndpoint: endpoint,
      projectId,
      // Small chunks keep the streaming case's memory bound honest (the client buffers one chunk).
      resumableChunkBytes: 4 * 1024 * 1024,
    }),
});
