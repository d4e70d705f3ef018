import { RestError } from "@azure/storage-blob";
import { FsError } from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { AzureBlobFileSystem, toFsError } from "../src/index.js";

const ctx = { op: "write", key: "coll/seg", root: "adls://acct1/data/p" };
const rest = (statusCode: number | undefined, code?: string) =>
  new RestError("service said something", { statusCode, code });

describe("mapping Azure SDK errors to FsError kinds (by status and code, never message text)", () => {
  it.each([
    [404, "BlobNotFound", "NotFound", false],
    [404, "ContainerNotFound", "NotFound", false],
    [403, "AuthenticationFailed", "PermissionDenied", false],
    [401, undefined, "PermissionDenied", false],
    [409, "BlobAlreadyExists", "AlreadyExists", false],
    [409, "LeaseIdMissing", "ConditionFailed", false],
    [412, "ConditionNotMet", "ConditionFailed", false],
    [429, undefined, "Transient", true],
    [500, "InternalError", "Transient", true],
    [503, "ServerBusy", "Transient", true],
    [408, undefined, "Transient", true],
    [400, "InvalidResourceName", "InvalidKey", false],
    [400, "InvalidHeaderValue", "Unknown", false],
    [413, "RequestBodyTooLarge", "NoSpace", false],
    [409, "ContainerQuotaExceeded", "NoSpace", false],
  ] as const)("HTTP %s %s → %s (retryable %s)", (status, code, kind, retryable) => {
    const e = toFsError(rest(status, code), ctx);
    expect(e).toBeInstanceOf(FsError);
    expect(e.kind).toBe(kind);
    expect(e.retryable).toBe(retryable);
    expect(e.status).toBe(status);
    expect(e.key).toBe("coll/seg");
    expect(e.root).toBe("adls://acct1/data/p");
  });

  it("maps 412 and 409 on an exclusive create to AlreadyExists", () => {
    expect(toFsError(rest(412, "ConditionNotMet"), { ...ctx, exclusive: true }).kind).toBe("AlreadyExists");
    expect(toFsError(rest(409, "BlobAlreadyExists"), { ...ctx, exclusive: true }).kind).toBe("AlreadyExists");
  });

  it("ignores the message: a 404 whose text talks about throttling is still NotFound", () => {
    expect(toFsError(new RestError("ServerBusy ECONNRESET 503 timeout", { statusCode: 404 }), ctx).kind).toBe(
      "NotFound",
    );
  });

  it.each(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "REQUEST_SEND_ERROR"])(
    "maps network error %s to a retryable Transient",
    (code) => {
      const e = toFsError(new RestError("socket trouble", { code }), ctx);
      expect(e.kind).toBe("Transient");
      expect(e.retryable).toBe(true);
    },
  );

  it("finds a network code on the cause chain", () => {
    const inner = Object.assign(new Error("read"), { code: "ECONNRESET" });
    expect(toFsError(new Error("wrapped", { cause: inner }), ctx).kind).toBe("Transient");
  });

  it("keeps a secret-free summary as the cause, not the SDK error with its request", () => {
    const e = toFsError(rest(403, "AuthenticationFailed"), ctx);
    expect(e.cause).not.toBeInstanceOf(RestError);
    expect(e.cause).toMatchObject({ statusCode: 403, code: "AuthenticationFailed" });
  });

  it("reports an unreachable endpoint as a retryable Transient error", async () => {
    // Port 9 on loopback (discard) has no listener here; one try, no back-off.
    const fs = new AzureBlobFileSystem("adls://devstoreaccount1/data", {
      accountKey: "a2V5",
      endpoint: "http://127.0.0.1:9/devstoreaccount1",
      retryOptions: { maxTries: 1 },
    });
    const err = await fs.stat("k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).kind).toBe("Transient");
    expect((err as FsError).retryable).toBe(true);
  });
});
