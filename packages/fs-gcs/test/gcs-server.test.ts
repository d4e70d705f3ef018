// The GCS JSON-API test server, specified through the real @google-cloud/storage client only.
import { type ApiError, Storage } from "@google-cloud/storage";
import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

let gcs: GcsServer;
let storage: Storage;
const bucketName = "server-spec";

beforeAll(async () => {
  gcs = await startGcsServer({ buckets: [bucketName] });
  storage = new Storage({
    apiEndpoint: gcs.endpoint,
    projectId: gcs.projectId,
    retryOptions: { autoRetry: false },
  });
});
afterAll(async () => gcs.stop());
beforeEach(() => gcs.resetCounters());

const bucket = () => storage.bucket(bucketName);
async function codeOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    // ApiError carries `code`; a failed resumable-session start is a GaxiosError with `status`.
    return (err as ApiError).code ?? (err as { status?: number }).status;
  }
  throw new Error("expected the call to fail");
}

describe("GCS test server (driven by @google-cloud/storage 7.x)", () => {
  it("answers buckets.get for an existing bucket and 404 for a missing one; buckets.insert creates one", async () => {
    expect((await bucket().exists())[0]).toBe(true);
    expect((await storage.bucket("no-such-bucket").exists())[0]).toBe(false);
    await storage.createBucket("made-by-client");
    expect((await storage.bucket("made-by-client").exists())[0]).toBe(true);
    expect(await codeOf(storage.createBucket("made-by-client"))).toBe(409);
  });

  it("stores multipart and resumable uploads byte for byte, under URL-encoded names", async () => {
    const name = "dir/with space+plus%/ünï😀.bin";
    await bucket().file(name).save("small body", { resumable: false });
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 0xab);
    await bucket()
      .file("dir/big.bin")
      .save(big, { resumable: true, chunkSize: 1024 * 1024 });
    expect((await bucket().file(name).download())[0].toString()).toBe("small body");
    expect((await bucket().file("dir/big.bin").download())[0].equals(big)).toBe(true);
    expect(gcs.requests.byRoute["objects.insert.multipart"]).toBe(1);
    expect(gcs.requests.byRoute["objects.insert.resumable.start"]).toBe(1);
    // 3 MiB + 17 bytes in 1 MiB chunks: three 308 Resume Incomplete answers and one final 200.
    expect(gcs.requests.byRoute["objects.insert.resumable.chunk"]).toBe(4);
  });

  it("streams a resumable upload of unknown length in one request", async () => {
    const ws = bucket().file("stream/one.bin").createWriteStream({ resumable: true });
    await new Promise<void>((resolve, reject) => {
      ws.on("error", reject).on("finish", resolve);
      ws.write(Buffer.alloc(1000, 1));
      ws.end(Buffer.alloc(500, 2));
    });
    const [meta] = await bucket().file("stream/one.bin").getMetadata();
    expect(Number(meta.size)).toBe(1500);
  });

  it("serves byte ranges of alt=media downloads", async () => {
    await bucket().file("range/digits").save("0123456789", { resumable: false });
    expect((await bucket().file("range/digits").download({ start: 2, end: 4 }))[0].toString()).toBe("234");
    expect((await bucket().file("range/digits").download({ start: 7 }))[0].toString()).toBe("789");
    expect(gcs.requests.byRoute["objects.get.media"]).toBe(2);
  });

  it("gives every write a new, larger generation", async () => {
    const f = bucket().file("gen/key");
    await f.save("one", { resumable: false });
    const g1 = Number((await f.getMetadata())[0].generation);
    await f.save("two", { resumable: false });
    const g2 = Number((await f.getMetadata())[0].generation);
    expect(g2).toBeGreaterThan(g1);
  });

  it("enforces ifGenerationMatch=0 (must not exist), ifGenerationMatch, ifGenerationNotMatch and ifMetagenerationMatch with 412", async () => {
    const f = bucket().file("pre/key");
    await f.save("first", { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(
      await codeOf(f.save("again", { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })),
    ).toBe(412);
    expect(
      await codeOf(f.save("again", { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } })),
    ).toBe(412);
    const gen = Number((await f.getMetadata())[0].generation);
    expect(
      await codeOf(f.save("x", { resumable: false, preconditionOpts: { ifGenerationMatch: gen + 1 } })),
    ).toBe(412);
    expect(
      await codeOf(f.save("x", { resumable: false, preconditionOpts: { ifGenerationNotMatch: gen } })),
    ).toBe(412);
    expect(
      await codeOf(f.save("x", { resumable: false, preconditionOpts: { ifMetagenerationMatch: 7 } })),
    ).toBe(412);
    await f.save("second", { resumable: false, preconditionOpts: { ifGenerationMatch: gen } });
    expect((await f.download())[0].toString()).toBe("second");
  });

  it("answers a missing object with a 404 JSON error, for metadata, download and delete", async () => {
    const f = bucket().file("missing/key");
    expect(await codeOf(f.getMetadata())).toBe(404);
    expect(await codeOf(f.download())).toBe(404);
    expect(await codeOf(f.delete())).toBe(404);
    await expect(f.delete({ ignoreNotFound: true })).resolves.toBeDefined();
  });

  it("lists with prefix, delimiter, maxResults and pageToken: items, prefixes and nextPageToken", async () => {
    const names = ["ls/a.txt", "ls/b/1", "ls/b/2", "ls/c/1", "ls/d.txt", "ls/e/", "lsx/other"];
    for (const n of names) await bucket().file(n).save(n, { resumable: false });
    const seenItems: string[] = [];
    const seenPrefixes: string[] = [];
    let query: { pageToken?: string } | null = {};
    let pages = 0;
    while (query) {
      const [files, next, resp]: [
        { name: string }[],
        { pageToken?: string } | null,
        { prefixes?: string[] },
      ] = (await bucket().getFiles({
        prefix: "ls/",
        delimiter: "/",
        maxResults: 2,
        autoPaginate: false,
        ...query,
      })) as never;
      seenItems.push(...files.map((f) => f.name));
      seenPrefixes.push(...(resp.prefixes ?? []));
      pages++;
      query = next?.pageToken ? { pageToken: next.pageToken } : null;
    }
    expect(seenItems).toEqual(["ls/a.txt", "ls/d.txt"]);
    expect(seenPrefixes).toEqual(["ls/b/", "ls/c/", "ls/e/"]);
    expect(pages).toBe(3);
    const [withTrailing] = await bucket().getFiles({
      prefix: "ls/",
      delimiter: "/",
      includeTrailingDelimiter: true,
      autoPaginate: false,
    });
    expect(withTrailing.map((f) => f.name)).toContain("ls/e/");
    const [flat] = await bucket().getFiles({ prefix: "ls/" });
    expect(flat.map((f) => f.name)).toEqual(names.slice(0, 6));
  });

  it("copies with rewriteTo (done: true) and copyTo, each copy a new generation", async () => {
    const src = bucket().file("cp/src");
    await src.save("payload", { resumable: false });
    await src.copy(bucket().file("cp/rewritten"));
    expect(gcs.requests.byRoute["objects.rewrite"]).toBe(1);
    expect((await bucket().file("cp/rewritten").download())[0].toString()).toBe("payload");
    expect(
      await codeOf(src.copy(bucket().file("cp/rewritten"), { preconditionOpts: { ifGenerationMatch: 0 } })),
    ).toBe(412);
  });

  it("moves atomically with moveTo, honouring ifGenerationMatch=0 on the destination", async () => {
    await bucket().file("mv/src").save("moving", { resumable: false });
    await bucket().file("mv/taken").save("taken", { resumable: false });
    expect(
      await codeOf(
        bucket()
          .file("mv/src")
          .moveFileAtomic("mv/taken", { preconditionOpts: { ifGenerationMatch: 0 } }),
      ),
    ).toBe(412);
    await bucket().file("mv/src").moveFileAtomic("mv/dst");
    expect((await bucket().file("mv/src").exists())[0]).toBe(false);
    expect((await bucket().file("mv/dst").download())[0].toString()).toBe("moving");
    expect(gcs.requests.byRoute["objects.move"]).toBe(2);
    expect(await codeOf(bucket().file("mv/none").moveFileAtomic("mv/x"))).toBe(404);
  });

  it("counts requests by route and resets the counters", async () => {
    await bucket().getFiles({ prefix: "nothing/", autoPaginate: false });
    expect(gcs.requests.byRoute["objects.list"]).toBe(1);
    expect(gcs.requests.total).toBe(1);
    gcs.resetCounters();
    expect(gcs.requests.total).toBe(0);
    expect(gcs.requests.byRoute).toEqual({});
  });
});
