import { inspect } from "node:util";
import { ApiError } from "@google-cloud/storage";
import { InvalidArgumentError, listAll, parseStorageUrl } from "@proximadb/core";
import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toFsError } from "../src/errors.js";
import { GcsFileSystem, type GcsFileSystemOptions, gcsFileSystemProvider } from "../src/index.js";
import { errorOf } from "./fs-error.js";

let gcs: GcsServer;
let n = 0;
const BUCKET = "adapter-spec";
// maxRetryDelay is in seconds and may not go under 1: file.save() retries through async-retry (minTimeout 1 s).
const FAST_RETRY = { maxRetries: 1, retryDelayMultiplier: 1, maxRetryDelay: 1 };

beforeAll(async () => {
  gcs = await startGcsServer({ buckets: [BUCKET] });
});
afterAll(async () => gcs.stop());
beforeEach(() => gcs.resetCounters());

function open(options: GcsFileSystemOptions = {}, bucket = BUCKET): GcsFileSystem {
  return new GcsFileSystem(`gs://${bucket}/spec-${++n}`, {
    apiEndpoint: gcs.endpoint,
    projectId: gcs.projectId,
    retryOptions: FAST_RETRY,
    ...options,
  });
}

describe("GcsFileSystem", () => {
  it("accepts gs:// as an alias and serves the canonical gcs:// root; refuses other schemes", () => {
    expect(open().root.url).toMatch(/^gcs:\/\/adapter-spec\/spec-\d+$/);
    expect(() => new GcsFileSystem("s3://bucket/x")).toThrow(/gcs/);
  });

  it("refuses tuning options out of range with InvalidArgumentError instead of clamping them", () => {
    for (const bad of [
      { deleteConcurrency: 0 },
      { uploadTimeoutMs: -5 },
      { resumableThresholdBytes: -1 },
      { resumableChunkBytes: 1024 },
      { deleteConcurrency: 2.5 },
    ]) {
      expect(() => open(bad), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => open({ resumableThresholdBytes: 0 })).not.toThrow();
  });

  it("declares an atomic, server-side move, conditional create and 1,000-key pages", () => {
    const c = open().capabilities;
    expect(c).toMatchObject({
      atomicMove: true,
      serverSideMove: true,
      conditionalCreate: true,
      append: false,
      delimiterList: true,
      maxListPageSize: 1000,
      remote: true,
    });
  });

  it("probes a missing bucket as absent without creating it", async () => {
    expect(await open({}, "no-such-bucket").probe()).toEqual({ exists: false });
    expect(await open().probe()).toEqual({ exists: true });
    expect(gcs.requests.byRoute["buckets.insert"]).toBeUndefined();
    expect(gcs.requests.byRoute["buckets.get"]).toBe(2);
  });

  it("reports an unreachable endpoint as a retryable Transient error, not as an absent root", async () => {
    const dead = await startGcsServer();
    const endpoint = dead.endpoint;
    await dead.stop();
    const err = await errorOf(
      new GcsFileSystem(`gcs://${BUCKET}`, { apiEndpoint: endpoint, retryOptions: FAST_RETRY }).probe(),
    );
    expect(err.kind).toBe("Transient");
    expect(err.retryable).toBe(true);
  });

  it("uploads small bodies in one multipart request and large ones through a resumable session", async () => {
    const fs = open({ resumableThresholdBytes: 256 * 1024, resumableChunkBytes: 256 * 1024 });
    await fs.write("w/small", Buffer.alloc(1000, 1));
    expect(gcs.requests.byRoute).toEqual({ "objects.insert.multipart": 1 });
    gcs.resetCounters();
    await fs.write("w/large", Buffer.alloc(600 * 1024, 2));
    expect(gcs.requests.byRoute["objects.insert.resumable.start"]).toBe(1);
    expect(gcs.requests.byRoute["objects.insert.resumable.chunk"]).toBe(3);
    gcs.resetCounters();
    async function* chunks(count: number) {
      for (let i = 0; i < count; i++) yield Buffer.alloc(100 * 1024, i);
    }
    expect(await fs.writeStream("w/stream-small", chunks(2))).toEqual({ bytes: 200 * 1024 });
    expect(gcs.requests.byRoute).toEqual({ "objects.insert.multipart": 1 });
    gcs.resetCounters();
    expect(await fs.writeStream("w/stream-large", chunks(7))).toEqual({ bytes: 700 * 1024 });
    expect(gcs.requests.byRoute["objects.insert.resumable.start"]).toBe(1);
    expect((await fs.stat("w/stream-large")).size).toBe(700 * 1024);
    expect(Buffer.from(await fs.read("w/stream-large", { offset: 100 * 1024 * 6, length: 3 }))).toEqual(
      Buffer.from([6, 6, 6]),
    );
  });

  it("refuses an exclusive create of an existing key with AlreadyExists on both upload paths", async () => {
    const fs = open({ resumableThresholdBytes: 256 * 1024 });
    await fs.write("x/lock", "first", { exclusive: true });
    expect((await errorOf(fs.write("x/lock", "second", { exclusive: true }))).kind).toBe("AlreadyExists");
    expect((await errorOf(fs.write("x/lock", Buffer.alloc(300 * 1024), { exclusive: true }))).kind).toBe(
      "AlreadyExists",
    );
    async function* big() {
      yield Buffer.alloc(300 * 1024);
    }
    expect((await errorOf(fs.writeStream("x/lock", big(), { exclusive: true }))).kind).toBe("AlreadyExists");
    expect(Buffer.from(await fs.read("x/lock")).toString()).toBe("first");
  });

  it("lists 1,100 keys in two LIST requests, and a level of 3 sub-folders in one", async () => {
    const fs = open({ deleteConcurrency: 32 });
    const keys = Array.from(
      { length: 1100 },
      (_, i) => `coll-${i % 3}/seg-${String(i).padStart(5, "0")}.avro`,
    );
    // Seeded straight into the server: the client costs milliseconds of CPU per upload.
    gcs.putObjects(
      BUCKET,
      keys.map((k) => [`${fs.root.prefix}/${k}`, k] as const),
    );
    expect((await listAll(fs, "")).files).toHaveLength(1100);
    expect(gcs.requests.byRoute["objects.list"]).toBe(2);
    gcs.resetCounters();
    expect((await listAll(fs, "", { delimiter: true })).prefixes).toEqual(["coll-0/", "coll-1/", "coll-2/"]);
    expect(gcs.requests.byRoute["objects.list"]).toBe(1);
    gcs.resetCounters();
    expect(await fs.deletePrefix("coll-1/")).toBe(367);
    expect(gcs.requests.byRoute["objects.delete"]).toBe(367);
  });

  it("moves with one atomic objects.move request", async () => {
    const fs = open();
    await fs.write("m/src", "bytes");
    gcs.resetCounters();
    await fs.move("m/src", "m/dst");
    expect(gcs.requests.byRoute).toEqual({ "objects.move": 1 });
  });

  it("maps errors by HTTP status or errno code, never by message text", () => {
    const ctx = { op: "write", root: "gcs://b/p", key: "k" };
    const api = (code: number, message = "irrelevant text: Not Found") =>
      Object.assign(new ApiError(message), { code });
    expect(toFsError(api(404, "Forbidden"), ctx).kind).toBe("NotFound");
    expect(toFsError(api(403, "No such object"), ctx).kind).toBe("PermissionDenied");
    expect(toFsError(api(401), ctx).kind).toBe("PermissionDenied");
    expect(toFsError(api(412), ctx).kind).toBe("ConditionFailed");
    expect(toFsError(api(412), { ...ctx, exclusive: true }).kind).toBe("AlreadyExists");
    expect(toFsError(api(413), ctx).kind).toBe("NoSpace");
    for (const code of [429, 500, 503]) {
      const e = toFsError(api(code), ctx);
      expect([e.kind, e.retryable, e.status]).toEqual(["Transient", true, code]);
    }
    expect(toFsError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), ctx).kind).toBe(
      "Transient",
    );
    expect(toFsError(new Error("Retry limit exceeded"), ctx).kind).toBe("Unknown");
    expect(toFsError(new Error("Retry limit exceeded"), { ...ctx, bareErrorIsTransient: true }).kind).toBe(
      "Transient",
    );
    expect(
      toFsError(Object.assign(new Error("x"), { status: 412, response: { status: 412 } }), {
        ...ctx,
        exclusive: true,
      }).kind,
    ).toBe("AlreadyExists");
  });

  it("never shows credentials in util.inspect, JSON or error messages", async () => {
    const secret = "-----BEGIN PRIVATE KEY-----\nTOP-SECRET-KEY-MATERIAL\n-----END PRIVATE KEY-----\n";
    const credentials = { client_email: "svc@proj.iam.gserviceaccount.com", private_key: secret };
    const plain = open({ credentials });
    const authed = open({ credentials, useAuthWithCustomEndpoint: true, retryOptions: { autoRetry: false } });
    for (const fs of [plain, authed]) {
      expect(inspect(fs, { depth: 10, showHidden: true })).not.toContain("TOP-SECRET");
      expect(JSON.stringify(fs)).not.toContain("TOP-SECRET");
    }
    const notFound = await errorOf(plain.stat("missing"));
    expect(notFound.kind).toBe("NotFound");
    // With auth on, the client must sign a token with the (bogus) key and fails before any request.
    const authFailure = await errorOf(authed.stat("missing"));
    for (const err of [notFound, authFailure]) {
      expect(err.message).not.toContain("TOP-SECRET");
      expect(inspect(err, { depth: 10, showHidden: true })).not.toContain("TOP-SECRET");
      expect(inspect(err, { depth: 10 })).not.toMatch(/authorization|bearer/i);
    }
  });

  it("opens gcs roots from the provider, sharing one client", async () => {
    const provider = gcsFileSystemProvider({ apiEndpoint: gcs.endpoint, projectId: gcs.projectId });
    expect(provider.schemes).toEqual(["gcs"]);
    const a = provider.open(parseStorageUrl(`gcs://${BUCKET}/prov-a`));
    const b = provider.open(parseStorageUrl(`gs://${BUCKET}/prov-b`));
    await a.write("k", "in a");
    expect(await b.exists("k")).toBe(false);
    expect(Buffer.from(await a.read("k")).toString()).toBe("in a");
  });
});
