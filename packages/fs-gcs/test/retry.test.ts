// The adapter's own retries of single requests (list, stat, read, multipart write, delete): a short
// jittered backoff on the client without retries, the server's Retry-After honoured, and non-retryable
// answers never repeated.
import { Storage } from "@google-cloud/storage";
import { listAll } from "@proximadb/core";
import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { createFaultProxy } from "@proximadb/testing/fault-proxy";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { backoffDelayMs, GcsFileSystem, retryAfterMsOf } from "../src/index.js";
import { errorOf } from "./fs-error.js";

const BUCKET = "retry-spec";
let gcs: GcsServer;
let n = 0;

beforeAll(async () => {
  gcs = await startGcsServer({ buckets: [BUCKET] });
});
afterAll(async () => gcs.stop());
beforeEach(() => {
  gcs.resetCounters();
  gcs.setFaultRule(undefined);
});

const open = (maxRetries: number) =>
  new GcsFileSystem(`gcs://${BUCKET}/r-${++n}`, {
    apiEndpoint: gcs.endpoint,
    projectId: gcs.projectId,
    retryOptions: { maxRetries },
    retryBaseDelayMs: 1,
    maxRetryDelayMs: 5,
  });

/** A fault rule that answers the first `count` requests of `route` with `status`. */
function failFirst(route: string, count: number, status: number | "reset") {
  let left = count;
  gcs.setFaultRule((r) => {
    if (r.route !== route || left <= 0) return undefined;
    left--;
    return status === "reset" ? "reset" : { status };
  });
}

describe("backoffDelayMs", () => {
  const b = { baseDelayMs: 100, maxDelayMs: 2000, maxRetryAfterMs: 30_000 };
  it("is uniform in 0..min(maxDelayMs, baseDelayMs × 2^retry)", () => {
    expect([0, 1, 2, 3, 4, 5].map((r) => backoffDelayMs(r, undefined, b, () => 0.999_999))).toEqual([
      99, 199, 399, 799, 1599, 1999,
    ]);
    expect(backoffDelayMs(4, undefined, b, () => 0)).toBe(0);
  });
  it("waits the server's Retry-After when longer, up to maxRetryAfterMs", () => {
    expect(backoffDelayMs(0, 1500, b, () => 0.5)).toBe(1500);
    expect(backoffDelayMs(5, 10, b, () => 0.5)).toBe(1000);
    expect(backoffDelayMs(0, 90_000, b, () => 0)).toBe(30_000);
  });
});

describe("retryAfterMsOf", () => {
  it("reads Retry-After (seconds or an HTTP date) from the error the real client throws", async () => {
    const proxy = await createFaultProxy({ target: gcs.endpoint, errorRate: 1, retryAfterSeconds: 7 });
    try {
      const raw = new Storage({
        apiEndpoint: proxy.url,
        projectId: gcs.projectId,
        useAuthWithCustomEndpoint: false,
        retryOptions: { autoRetry: false, maxRetries: 0 },
      });
      const err = await raw
        .bucket(BUCKET)
        .file("x")
        .getMetadata()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(retryAfterMsOf(err)).toBe(7000);
    } finally {
      await proxy.close();
    }
    const at = new Date(Date.now() + 60_000).toUTCString();
    const ms = retryAfterMsOf({ response: { headers: { "retry-after": at } } }) as number;
    expect(ms).toBeGreaterThan(55_000);
    expect(ms).toBeLessThanOrEqual(60_000);
    expect(retryAfterMsOf({ response: { headers: {} } })).toBeUndefined();
    expect(retryAfterMsOf(new Error("no response"))).toBeUndefined();
  });
});

describe("GcsFileSystem's own retries", () => {
  it("retries a multipart write answered 503 and 429 until it is stored, one request per attempt", async () => {
    const fs = open(3);
    failFirst("objects.insert.multipart", 2, 503);
    await fs.write("a.bin", "hello");
    expect(gcs.requests.byRoute["objects.insert.multipart"]).toBe(3);
    failFirst("objects.insert.multipart", 1, 429);
    await fs.write("b.bin", "again");
    expect(Buffer.from(await fs.read("a.bin")).toString()).toBe("hello");
    expect(Buffer.from(await fs.read("b.bin")).toString()).toBe("again");
  });

  it("retries list, stat, read and delete through 503s and resets", async () => {
    const fs = open(3);
    await fs.write("k.bin", "value");
    for (const fault of ["reset", 503] as const) {
      failFirst("objects.list", 2, fault);
      const { files } = await listAll(fs, "");
      expect(files.map((f) => f.key)).toEqual(["k.bin"]);
    }
    failFirst("objects.get", 2, 503);
    expect((await fs.stat("k.bin")).size).toBe(5);
    failFirst("objects.get.media", 2, "reset");
    expect(Buffer.from(await fs.read("k.bin")).toString()).toBe("value");
    failFirst("objects.delete", 2, 503);
    await fs.delete("k.bin");
    expect(await fs.exists("k.bin")).toBe(false);
  });

  it("gives up after retryOptions.maxRetries with a retryable Transient error", async () => {
    const fs = open(2);
    failFirst("objects.insert.multipart", 3, 503);
    const err = await errorOf(fs.write("c.bin", "x"));
    expect(err.kind).toBe("Transient");
    expect(err.retryable).toBe(true);
    expect(gcs.requests.byRoute["objects.insert.multipart"]).toBe(3);
  });

  it("never repeats a request whose answer is final (412 of an exclusive create, 404)", async () => {
    const fs = open(5);
    await fs.write("once.bin", "1");
    gcs.resetCounters();
    const exists = await errorOf(fs.write("once.bin", "2", { exclusive: true }));
    expect(exists.kind).toBe("AlreadyExists");
    expect(gcs.requests.byRoute["objects.insert.multipart"]).toBe(1);
    const missing = await errorOf(fs.stat("missing.bin"));
    expect(missing.kind).toBe("NotFound");
    expect(gcs.requests.byRoute["objects.get"]).toBe(1);
  });

  it("with autoRetry off, tries once", async () => {
    const fs = new GcsFileSystem(`gcs://${BUCKET}/r-${++n}`, {
      apiEndpoint: gcs.endpoint,
      projectId: gcs.projectId,
      retryOptions: { autoRetry: false },
    });
    failFirst("objects.insert.multipart", 1, 503);
    expect((await errorOf(fs.write("d.bin", "x"))).kind).toBe("Transient");
    expect(gcs.requests.byRoute["objects.insert.multipart"]).toBe(1);
  });
});
