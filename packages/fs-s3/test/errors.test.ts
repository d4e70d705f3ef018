import { describe, expect, it } from "vitest";
import { encodeCopySource } from "../src/copy-source.js";
import { classifyS3Error, toFsError } from "../src/errors.js";

const sdk = (name: string, status?: number) =>
  Object.assign(new Error("message text is never read"), { name, $metadata: { httpStatusCode: status } });
const net = (code: string) => Object.assign(new Error("socket hang up"), { code });

describe("S3 error classification (status, error name, errno: never message text)", () => {
  it.each([
    [sdk("NoSuchKey", 404), "NotFound"],
    [sdk("NotFound", 404), "NotFound"],
    [sdk("NoSuchBucket", 404), "NotFound"],
    [sdk("AccessDenied", 403), "PermissionDenied"],
    [sdk("InvalidAccessKeyId", 403), "PermissionDenied"],
    [sdk("PreconditionFailed", 412), "ConditionFailed"],
    [sdk("SlowDown", 503), "Transient"],
    [sdk("Unknown", 429), "Transient"],
    [sdk("InternalError", 500), "Transient"],
    [sdk("Unknown", 502), "Transient"],
    [sdk("Unknown", 504), "Transient"],
    [sdk("ThrottlingException"), "Transient"],
    [sdk("TimeoutError"), "Transient"],
    [net("ECONNRESET"), "Transient"],
    [net("EPIPE"), "Transient"],
    [Object.assign(new Error("wrapped"), { cause: net("ECONNREFUSED") }), "Transient"],
    [sdk("InvalidArgument", 400), "Unknown"],
    [sdk("EntityTooLarge", 400), "NoSpace"],
    [sdk("XMinioStorageFull", 507), "NoSpace"],
  ])("%s → %s", (err, kind) => {
    expect(classifyS3Error(err).kind).toBe(kind);
    const fsErr = toFsError(err, { op: "op", root: "s3://b/p", key: "k" });
    expect(fsErr.kind).toBe(kind);
    expect(fsErr.retryable).toBe(kind === "Transient");
    expect(fsErr.message).not.toContain("message text");
  });

  it("maps 412 and 409 on an exclusive create to AlreadyExists", () => {
    expect(classifyS3Error(sdk("PreconditionFailed", 412), true).kind).toBe("AlreadyExists");
    expect(classifyS3Error(sdk("ConditionalRequestConflict", 409), true).kind).toBe("AlreadyExists");
    expect(
      toFsError(sdk("PreconditionFailed", 412), {
        op: "write",
        root: "s3://b",
        key: "k",
        exclusiveCreate: true,
      }).status,
    ).toBe(412);
  });
});

describe("copy source encoding", () => {
  it("percent-encodes each segment (space, +, unicode, reserved) and keeps the slashes", () => {
    expect(encodeCopySource("bkt", "p/a b+c/ü=@!.bin")).toBe("bkt/p/a%20b%2Bc/%C3%BC%3D%40%21.bin");
  });
});
