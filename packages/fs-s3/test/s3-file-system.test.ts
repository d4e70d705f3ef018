import { createHash, randomBytes } from "node:crypto";
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { FsError, listAll } from "@proximadb/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { S3_CAPABILITIES, S3FileSystem, s3FileSystemProvider } from "../src/index.js";
import { md5FromEtag } from "../src/s3-file-system.js";
import { emulatorOptions, openFresh, rawClient, s3rver } from "./support/s3.js";

const MiB = 1024 * 1024;

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FsError) return err.kind;
    throw err;
  }
  return "resolved";
}

async function* chunks(total: number, size: number, seed = 7): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += size) {
    const n = Math.min(size, total - sent);
    const c = new Uint8Array(n);
    for (let i = 0; i < n; i++) c[i] = (sent + i + seed) & 0xff;
    yield c;
  }
}

describe("S3FileSystem on s3rver", () => {
  let fs: S3FileSystem;
  beforeAll(() => {
    fs = openFresh({ multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, queueSize: 2 });
  });
  afterAll(() => fs.close());

  it("declares what S3 does natively: server-side but non-atomic move, enforced conditional create, no append, no fsync", () => {
    expect(fs.capabilities).toEqual({
      atomicMove: false,
      serverSideMove: true,
      conditionalCreate: true,
      append: false,
      fsync: false,
      delimiterList: true,
      rangeRead: true,
      maxListPageSize: 1000,
      remote: true,
      serverSideCopy: true,
      checksums: ["md5"],
    });
    expect(fs.capabilities).toBe(S3_CAPABILITIES);
  });

  it("takes an ETag as the MD5 only for a single-part object not encrypted with KMS or a customer key", () => {
    const md5 = "9e107d9d372bb6826bd81d3542a419d6";
    expect(md5FromEtag({ ETag: `"${md5.toUpperCase()}"` })).toEqual({ algorithm: "md5", value: md5 });
    expect(md5FromEtag({ ETag: `"${md5}"`, ServerSideEncryption: "AES256" })).toEqual({
      algorithm: "md5",
      value: md5,
    });
    expect(md5FromEtag({ ETag: `"${md5}-3"` })).toBeUndefined();
    expect(md5FromEtag({ ETag: `"${md5}"`, ServerSideEncryption: "aws:kms" })).toBeUndefined();
    expect(md5FromEtag({ ETag: `"${md5}"`, SSECustomerAlgorithm: "AES256" })).toBeUndefined();
    expect(md5FromEtag({})).toBeUndefined();
  });

  it("stores keys under the root prefix in the bucket", async () => {
    await fs.write("coll-a/seg-1.avro", "hello");
    const { bucket } = s3rver();
    const out = await rawClient().send(
      new GetObjectCommand({ Bucket: bucket, Key: `${fs.root.prefix}/coll-a/seg-1.avro` }),
    );
    expect(await out.Body?.transformToString()).toBe("hello");
    expect(await fs.stat("coll-a/seg-1.avro")).toMatchObject({ key: "coll-a/seg-1.avro", size: 5 });
  });

  it("reads whole keys and byte ranges; a range past the end reads nothing", async () => {
    await fs.write("r/range.bin", new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    expect([...(await fs.read("r/range.bin", { offset: 2, length: 3 }))]).toEqual([2, 3, 4]);
    expect([...(await fs.read("r/range.bin", { offset: 7 }))]).toEqual([7, 8, 9]);
    expect((await fs.read("r/range.bin", { offset: 20 })).byteLength).toBe(0);
    expect((await fs.read("r/range.bin", { offset: 3, length: 0 })).byteLength).toBe(0);
    expect(await kindOf(fs.read("r/missing.bin"))).toBe("NotFound");
    expect(await kindOf(fs.read("r/missing.bin", { offset: 3, length: 0 }))).toBe("NotFound");
  });

  it("maps a missing key to NotFound for stat, read and readStream, and exists() says false", async () => {
    expect(await kindOf(fs.stat("nope/x"))).toBe("NotFound");
    expect(await fs.exists("nope/x")).toBe(false);
    const drain = async () => {
      for await (const _ of fs.readStream("nope/x")) {
        /* nothing */
      }
    };
    expect(await kindOf(drain())).toBe("NotFound");
  });

  it("rejects keys that would escape the root before sending anything", async () => {
    for (const bad of ["../x", "/abs", "a//b", "a/./b", "nul\0", "back\\slash"]) {
      expect(await kindOf(fs.write(bad, "x"))).toBe("InvalidKey");
    }
    expect(await kindOf(fs.move("ok", "../escape"))).toBe("InvalidKey");
    expect(await kindOf(fs.deleteMany(["ok", "a/../b"]))).toBe("InvalidKey");
  });

  it("pages ListObjectsV2 with MaxKeys = pageSize and follows continuation tokens in both modes", async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `pg/f-${String(i).padStart(2, "0")}`);
    const dirs = Array.from({ length: 7 }, (_, i) => `pg/d-${i}/x`);
    await Promise.all([...keys, ...dirs].map((k) => fs.write(k, k)));
    const pages: number[] = [];
    for await (const page of fs.list("pg/", { pageSize: 10 })) pages.push(page.files.length);
    expect(pages).toEqual([10, 10, 10, 2]);
    const flat = await listAll(fs, "pg/", { pageSize: 10 });
    expect(flat.files.map((f) => f.key).sort()).toEqual([...keys, ...dirs].sort());
    const shallow = await listAll(fs, "pg/", { delimiter: true, pageSize: 4 });
    expect(shallow.files.map((f) => f.key).sort()).toEqual(keys);
    expect(shallow.prefixes).toEqual(Array.from({ length: 7 }, (_, i) => `pg/d-${i}/`));
  });

  it("lists a prefix as a string prefix: coll-1/ does not match coll-10/, and a file's own path lists that file", async () => {
    await fs.write("stem/coll-1/a", "1");
    await fs.write("stem/coll-10/b", "10");
    expect((await listAll(fs, "stem/coll-1/")).files.map((f) => f.key)).toEqual(["stem/coll-1/a"]);
    expect((await listAll(fs, "stem/coll-1/a")).files.map((f) => f.key)).toEqual(["stem/coll-1/a"]);
    expect((await listAll(fs, "stem/", { delimiter: true })).prefixes).toEqual([
      "stem/coll-1/",
      "stem/coll-10/",
    ]);
  });

  it("moves server-side, encoding the copy source for keys with spaces, + and unicode", async () => {
    const names = ["mv/with space.bin", "mv/plus+sign.bin", "mv/ünï-çødé 文件.bin", "mv/pct%25and=eq@at.bin"];
    for (const [i, from] of names.entries()) {
      await fs.write(from, `body-${i}`);
      const to = `mv/out/${i}-${from.slice(3)}`;
      await fs.move(from, to);
      expect(await fs.exists(from)).toBe(false);
      expect(Buffer.from(await fs.read(to)).toString()).toBe(`body-${i}`);
    }
  });

  it("move overwrites by default and refuses an existing target with overwrite: false", async () => {
    await fs.write("mo/a", "A");
    await fs.write("mo/b", "B");
    expect(await kindOf(fs.move("mo/a", "mo/b", { overwrite: false }))).toBe("AlreadyExists");
    expect(Buffer.from(await fs.read("mo/a")).toString()).toBe("A");
    await fs.move("mo/a", "mo/b");
    expect(Buffer.from(await fs.read("mo/b")).toString()).toBe("A");
    expect(await kindOf(fs.move("mo/missing", "mo/c"))).toBe("NotFound");
  });

  it("refuses a second exclusive create with AlreadyExists and keeps the first body", async () => {
    await fs.write("ex/marker.json", "first", { exclusive: true });
    expect(await kindOf(fs.write("ex/marker.json", "second", { exclusive: true }))).toBe("AlreadyExists");
    expect(await kindOf(fs.writeStream("ex/marker.json", chunks(10, 10), { exclusive: true }))).toBe(
      "AlreadyExists",
    );
    expect(Buffer.from(await fs.read("ex/marker.json")).toString()).toBe("first");
  });

  it("streams a body over the threshold as a multipart upload and reads it back byte for byte", async () => {
    const total = 12 * MiB + 123;
    const { bytes } = await fs.writeStream("big/stream.bin", chunks(total, 256 * 1024));
    expect(bytes).toBe(total);
    expect((await fs.stat("big/stream.bin")).size).toBe(total);
    let at = 0;
    let mismatches = 0;
    for await (const c of fs.readStream("big/stream.bin")) {
      for (let i = 0; i < c.byteLength; i++) if (c[i] !== ((at + i + 7) & 0xff)) mismatches++;
      at += c.byteLength;
    }
    expect(at).toBe(total);
    expect(mismatches).toBe(0);
  });

  it("writes an in-memory body over the threshold as multipart too", async () => {
    const body = randomBytes(6 * MiB);
    await fs.write("big/buffer.bin", body);
    expect(Buffer.compare(Buffer.from(await fs.read("big/buffer.bin")), body)).toBe(0);
  });

  it("leaves no object and no pending upload when a multipart source fails half way", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield* chunks(11 * MiB, MiB);
      throw new Error("source broke");
    }
    await expect(fs.writeStream("big/torn.bin", failing())).rejects.toThrow();
    expect(await fs.exists("big/torn.bin")).toBe(false);
    const uploads = await rawClient()
      .send(
        new ListMultipartUploadsCommand({
          Bucket: s3rver().bucket,
          Prefix: `${fs.root.prefix}/big/torn.bin`,
        }),
      )
      .catch(() => undefined); // s3rver does not implement ListMultipartUploads
    expect(uploads?.Uploads ?? []).toEqual([]);
  });

  it("leaves no object when a multipart write is aborted", async () => {
    const ac = new AbortController();
    async function* slow(): AsyncGenerator<Uint8Array> {
      let n = 0;
      for await (const c of chunks(20 * MiB, MiB)) {
        if (++n === 12) ac.abort();
        yield c;
      }
    }
    await expect(fs.writeStream("big/aborted.bin", slow(), { signal: ac.signal })).rejects.toThrow();
    expect(await fs.exists("big/aborted.bin")).toBe(false);
  });

  it("deletes: a missing key is fine, deleteMany pages of 1,000, deletePrefix counts what it removed", async () => {
    await fs.delete("del/never-existed");
    const keys = Array.from({ length: 1001 }, (_, i) => `del/many/${i}`);
    const queue = [...keys];
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let k = queue.pop(); k !== undefined; k = queue.pop()) await fs.write(k, "x");
      }),
    );
    await fs.deleteMany([...keys.slice(0, 1001), "del/many/not-there"]);
    expect((await listAll(fs, "del/many/")).files).toEqual([]);

    await Promise.all(["del/p/a", "del/p/b/c", "del/pq"].map((k) => fs.write(k, "x")));
    expect(await fs.deletePrefix("del/p/")).toBe(2);
    expect((await listAll(fs, "del/")).files.map((f) => f.key)).toEqual(["del/pq"]);
    expect(await kindOf(fs.deletePrefix("del/p"))).toBe("InvalidKey");
    expect(await kindOf(fs.deletePrefix(""))).toBe("InvalidKey");
  });

  it("refuses openAppend with Unsupported", async () => {
    expect(await kindOf(fs.openAppend("wal/seg.avro"))).toBe("Unsupported");
  });

  it("probes with HeadBucket: an existing bucket exists, a missing one does not and is not created", async () => {
    expect(await fs.probe()).toEqual({ exists: true });
    const missing = new S3FileSystem("s3://no-such-bucket-here/p", emulatorOptions());
    expect(await missing.probe()).toEqual({ exists: false });
    expect(await missing.probe()).toEqual({ exists: false });
    expect(await kindOf(missing.write("k", "v"))).toBe("NotFound");
    await missing.close();
  });

  it("opens s3:// roots through the provider and refuses other schemes", async () => {
    const provider = s3FileSystemProvider(emulatorOptions());
    expect(provider.schemes).toEqual(["s3"]);
    const opened = provider.open({
      url: fs.root.url,
      scheme: "s3",
      bucket: fs.root.bucket,
      prefix: fs.root.prefix,
    });
    expect(Buffer.from(await opened.read("coll-a/seg-1.avro")).toString()).toBe("hello");
    await opened.close();
    expect(() => new S3FileSystem("file:///tmp/x")).toThrow(/s3:\/\//);
    expect(() => new S3FileSystem("s3://b-ok/p", { partSizeBytes: 1024 })).toThrow(/partSizeBytes/);
  });

  it("lists nothing for a fresh prefix and sends one request for it", async () => {
    const fresh = openFresh();
    expect(await listAll(fresh, "")).toEqual({ files: [], prefixes: [] });
    const raw = await rawClient().send(
      new ListObjectsV2Command({ Bucket: s3rver().bucket, Prefix: `${fresh.root.prefix}/` }),
    );
    expect(raw.KeyCount ?? 0).toBe(0);
    await fresh.close();
  });
});

describe("S3FileSystem.copyFrom (server-side copy between roots)", () => {
  it("copies an object of another root on the same endpoint with its exact bytes and keeps the source", async () => {
    const a = openFresh();
    const b = openFresh();
    try {
      await a.write("c/one.bin", "payload+ é");
      // The copy's entry, its MD5 from the CopyObject response: what a stat of the copy says.
      const copied = await b.copyFrom(a, "c/one.bin", "_incoming/c/one.bin");
      const md5 = createHash("md5").update("payload+ é").digest("hex");
      expect(copied).toMatchObject({ key: "_incoming/c/one.bin", size: Buffer.byteLength("payload+ é") });
      expect(copied).toMatchObject({ checksum: { algorithm: "md5", value: md5 } });
      expect((await b.stat("_incoming/c/one.bin")).checksum).toEqual({ algorithm: "md5", value: md5 });
      expect(new TextDecoder().decode(await b.read("_incoming/c/one.bin"))).toBe("payload+ é");
      expect(await a.exists("c/one.bin")).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("lists each single-part object with the MD5 of its ETag, as stat reports it", async () => {
    const fs = openFresh();
    try {
      await fs.write("ls/a.bin", "alpha");
      const [listed] = (await listAll(fs, "ls/")).files;
      const md5 = createHash("md5").update("alpha").digest("hex");
      expect(listed?.checksum).toEqual({ algorithm: "md5", value: md5 });
      expect((await fs.stat("ls/a.bin")).checksum).toEqual(listed?.checksum);
    } finally {
      await fs.close();
    }
  });

  it("declines (false, nothing written) for a root on another endpoint", async () => {
    const a = openFresh();
    const b = openFresh({ endpoint: "http://127.0.0.1:9" });
    try {
      await a.write("c/one.bin", "x");
      expect(await a.copyFrom(b, "c/one.bin", "c/two.bin")).toBe(false);
      expect(await a.exists("c/two.bin")).toBe(false);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
