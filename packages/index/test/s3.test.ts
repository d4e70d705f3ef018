import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, beforeAll } from "vitest";
import { s3Roots } from "./helpers.js";
import { describeIndexRoundTrip } from "./round-trip.js";

let s3: S3rverInstance | undefined;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describeIndexRoundTrip("s3rver (S3 through the AWS SDK)", () => {
  if (!s3) throw new Error("s3rver did not start");
  return s3Roots(s3, 2);
});
