import { inspect } from "node:util";
import { S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import { FsError } from "@proximadb/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3FileSystem } from "../src/index.js";
import { startRecordingProxy, type RecordingProxy } from "./support/recording-proxy.js";
import { emulatorOptions, freshRoot, openFresh, s3rver } from "./support/s3.js";

const MiB = 1024 * 1024;

// s3rver ignores If-None-Match, so the emulator cannot show that exclusive creates are enforced. These
// cases show what the adapter puts on the wire instead: the header AWS enforces, on every create path.
describe("what S3FileSystem sends", () => {
  let proxy: RecordingProxy;
  let fs: S3FileSystem;
  beforeAll(async () => {
    proxy = await startRecordingProxy(s3rver().endpoint);
    fs = openFresh(
      { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, exclusiveCreatePrecheck: false },
      proxy.url,
    );
  });
  afterAll(async () => {
    await fs.close();
    await proxy.close();
  });
  const since = (n: number) => proxy.requests.slice(n);

  it("sends If-None-Match: * on an exclusive PutObject, and not on a plain one", async () => {
    const n = proxy.requests.length;
    await fs.write("w/plain", "x");
    await fs.write("w/exclusive", "x", { exclusive: true });
    const puts = since(n).filter((r) => r.method === "PUT");
    expect(
      puts.map((r) => [
        decodeURIComponent(r.url.split("?")[0] ?? "")
          .split("/")
          .pop(),
        r.headers["if-none-match"],
      ]),
    ).toEqual([
      ["plain", undefined],
      ["exclusive", "*"],
    ]);
  });

  it("sends If-None-Match: * on CompleteMultipartUpload of an exclusive multipart write", async () => {
    const n = proxy.requests.length;
    await fs.write("w/big", new Uint8Array(11 * MiB), { exclusive: true });
    const reqs = since(n);
    const parts = reqs.filter((r) => r.method === "PUT" && r.url.includes("partNumber="));
    const complete = reqs.filter((r) => r.method === "POST" && r.url.includes("uploadId="));
    expect(parts.length).toBe(3);
    expect(complete).toHaveLength(1);
    expect(complete[0]?.headers["if-none-match"]).toBe("*");
  });

  it("sends If-None-Match: * on the CopyObject of a move with overwrite: false", async () => {
    await fs.write("mv/src a+b", "x");
    const n = proxy.requests.length;
    await fs.move("mv/src a+b", "mv/dst", { overwrite: false });
    const copy = since(n).find((r) => r.method === "PUT" && r.headers["x-amz-copy-source"] !== undefined);
    expect(copy?.headers["if-none-match"]).toBe("*");
    // The copy source is percent-encoded as AWS expects: '+' as %2B, space as %20.
    expect(copy?.headers["x-amz-copy-source"]).toBe(`${s3rver().bucket}/${fs.root.prefix}/mv/src%20a%2Bb`);
  });

  it("deletes many keys with one DeleteObjects request per 1,000 keys", async () => {
    const n = proxy.requests.length;
    await fs.deleteMany(Array.from({ length: 2001 }, (_, i) => `gone/${i}`));
    const batches = since(n).filter((r) => r.method === "POST" && r.url.includes("delete"));
    expect(batches).toHaveLength(3);
  });
});

describe("credentials never leak", () => {
  const SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY-do-not-print";

  it("keeps the secret key out of the error message, the error's JSON and inspect output, and the FileSystem's", async () => {
    const fs = new S3FileSystem(freshRoot(), {
      ...emulatorOptions(),
      credentials: { accessKeyId: "AKIAWRONGKEYEXAMPLE", secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    let caught: unknown;
    try {
      await fs.write("k", "v");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FsError);
    const err = caught as FsError;
    expect(err.kind).toBe("PermissionDenied");
    expect(err.retryable).toBe(false);
    for (const shown of [
      err.message,
      String(err),
      JSON.stringify(err),
      inspect(err, { depth: 10 }),
      err.stack ?? "",
    ]) {
      expect(shown).not.toContain(SECRET);
    }
    for (const shown of [String(fs), JSON.stringify(fs), inspect(fs, { depth: 10, showHidden: true })]) {
      expect(shown).not.toContain(SECRET);
      expect(shown).toContain(fs.root.url);
    }
    await fs.close();
  });

  it("leaves a caller's client open on close() and closes its own", async () => {
    const client = new S3Client({ ...emulatorOptions() } as S3ClientConfig);
    const shared = new S3FileSystem(freshRoot(), { client });
    await shared.write("a", "1");
    await shared.close();
    const again = new S3FileSystem(shared.root, { client });
    expect(Buffer.from(await again.read("a")).toString()).toBe("1");
    client.destroy();
  });
});
