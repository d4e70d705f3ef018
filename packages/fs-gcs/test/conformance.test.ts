import { describeFileSystem } from "@proximadb/testing/conformance";
import { inject } from "vitest";
import { GcsFileSystem } from "../src/index.js";

const endpoint = inject("gcsEndpoint");
const projectId = inject("gcsProjectId");
const bucket = inject("gcsBucket");
let n = 0;

// Each case gets a fresh, empty root: a new prefix in the shared test bucket of the GCS test server
// (a separate process from these tests, so the streaming memory bounds measure the adapter alone).
const options = {
  apiEndpoint: endpoint,
  projectId,
  // A stream upload keeps up to threshold + 4 chunks (replay window for retries from byte 0, plus the
  // client's read-ahead): small ones keep the streaming case's memory bound (0.75 × 50 MiB) honest.
  resumableThresholdBytes: 2 * 1024 * 1024,
  resumableChunkBytes: 2 * 1024 * 1024,
};

describeFileSystem("fs-gcs", {
  create: () => new GcsFileSystem(`gcs://${bucket}/conformance-${process.pid}-${++n}`, options),
  openRoot: (url) => new GcsFileSystem(url, options),
});
