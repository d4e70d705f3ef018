import { createHash, randomUUID } from "node:crypto";
import { inspect } from "node:util";
import {
  type FileSystem,
  FsError,
  InvalidArgumentError,
  InvalidStorageUrlError,
  listAll,
  parseStorageUrl,
} from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { AzureBlobFileSystem, azureFileSystemProvider } from "../src/index.js";
import { azurite, FAST_RETRIES, freshFs, freshRoot, rawContainer } from "./helpers.js";

async function expectFsError(p: Promise<unknown>, kind: FsError["kind"]): Promise<FsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FsError);
  expect((err as FsError).kind).toBe(kind);
  return err as FsError;
}

async function writeMany(fs: FileSystem, keys: readonly string[], concurrency = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) {
        const key = keys[next++] as string;
        await fs.write(key, key);
      }
    }),
  );
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

describe("AzureBlobFileSystem on Azurite", () => {
  describe("root probe", () => {
    it("reports an existing container as existing", async () => {
      expect(await freshFs().probe()).toEqual({ exists: true });
    });

    it("reports a missing container as absent and does not create it", async () => {
      const a = azurite();
      const fs = new AzureBlobFileSystem(`adls://${a.accountName}/missing-${randomUUID().slice(0, 8)}/p`, {
        accountKey: a.accountKey,
        endpoint: a.blobEndpoint,
      });
      expect(await fs.probe()).toEqual({ exists: false });
      expect(await rawContainer(fs.root.container as string).exists()).toBe(false);
    });
  });

  describe("single keys", () => {
    it("writes, stats, reads and deletes a key under the root's prefix", async () => {
      const fs = freshFs();
      await fs.write("coll-a/seg-1.avro", "hello azure");
      expect(await fs.exists("coll-a/seg-1.avro")).toBe(true);
      const st = await fs.stat("coll-a/seg-1.avro");
      expect(st).toMatchObject({ key: "coll-a/seg-1.avro", size: 11 });
      expect(st.mtimeMs).toBeGreaterThan(Date.parse("2020-01-01"));
      expect(text(await fs.read("coll-a/seg-1.avro"))).toBe("hello azure");
      // The blob lives under the root's prefix, nowhere else.
      expect(await rawContainer("unit").getBlobClient(`${fs.root.prefix}/coll-a/seg-1.avro`).exists()).toBe(
        true,
      );
      await fs.delete("coll-a/seg-1.avro");
      expect(await fs.exists("coll-a/seg-1.avro")).toBe(false);
    });

    it("reads byte ranges, and an offset past the end reads nothing", async () => {
      const fs = freshFs();
      await fs.write("r.bin", "0123456789");
      expect(text(await fs.read("r.bin", { offset: 2, length: 3 }))).toBe("234");
      expect(text(await fs.read("r.bin", { offset: 7 }))).toBe("789");
      expect(await fs.read("r.bin", { offset: 10 })).toHaveLength(0);
      expect(await fs.read("r.bin", { offset: 3, length: 0 })).toHaveLength(0);
    });

    it("writes and reads an empty key", async () => {
      const fs = freshFs();
      await fs.write("empty", new Uint8Array(0));
      expect(await fs.stat("empty")).toMatchObject({ size: 0 });
      expect(await fs.read("empty")).toHaveLength(0);
    });

    it("raises NotFound (not retryable) for a missing key on stat, read and readStream", async () => {
      const fs = freshFs();
      const e = await expectFsError(fs.stat("nope"), "NotFound");
      expect(e.retryable).toBe(false);
      expect(e.key).toBe("nope");
      expect(e.root).toBe(fs.root.url);
      expect(e.status).toBe(404);
      await expectFsError(fs.read("nope"), "NotFound");
      await expectFsError(fs.read("nope", { offset: 0, length: 0 }), "NotFound");
      await expectFsError(
        (async () => {
          for await (const _ of fs.readStream("nope")) {
            /* drain */
          }
        })(),
        "NotFound",
      );
    });

    it("treats deleting a missing key as success", async () => {
      await expect(freshFs().delete("never/written")).resolves.toBeUndefined();
    });

    it("round-trips keys that need escaping (space, +, %, ?, #, unicode)", async () => {
      const fs = freshFs();
      const keys = [
        "a b/c d.txt",
        "plus+sign",
        "100%/x%20y",
        "q?x=1#frag",
        "ünï/cødé/日本.parquet",
        "tilde~'quote'",
      ];
      for (const k of keys) await fs.write(k, `v:${k}`);
      for (const k of keys) expect(text(await fs.read(k))).toBe(`v:${k}`);
      const { files } = await listAll(fs, "");
      expect(files.map((f) => f.key).sort()).toEqual([...keys].sort());
    });

    it("rejects keys that would escape the root before sending anything", async () => {
      const fs = freshFs();
      for (const bad of ["../x", "/abs", "a//b", "a/./b", "nul\0", "back\\slash", "dir/"]) {
        await expectFsError(fs.write(bad, "x"), "InvalidKey");
      }
      await expectFsError(fs.stat(".."), "InvalidKey");
      await expectFsError(fs.move("ok", "../up"), "InvalidKey");
      await expectFsError(fs.deletePrefix("no-trailing-slash"), "InvalidKey");
      await expectFsError(fs.deletePrefix(""), "InvalidKey");
    });

    it("has no append: openAppend is Unsupported, as the capabilities say", async () => {
      const fs = freshFs();
      expect(fs.capabilities.append).toBe(false);
      await expectFsError(fs.openAppend("wal.avro"), "Unsupported");
    });
  });

  describe("listing", () => {
    it("pages through a listing with the SDK's continuation tokens, in order, without loss or duplicates", async () => {
      const fs = freshFs();
      const keys = Array.from({ length: 45 }, (_, i) => `pg/k-${String(i).padStart(3, "0")}`);
      await writeMany(fs, [...keys, "pg/sub/a", "pg/sub/b", "pg-other/x"]);
      const flat: string[][] = [];
      for await (const page of fs.list("pg/", { pageSize: 10 })) flat.push(page.files.map((f) => f.key));
      expect(flat.map((p) => p.length)).toEqual([10, 10, 10, 10, 7]);
      expect(flat.flat()).toEqual([...keys, "pg/sub/a", "pg/sub/b"]);
      const delim = await listAll(fs, "pg/", { delimiter: true, pageSize: 10 });
      expect(delim.files.map((f) => f.key)).toEqual(keys);
      expect(delim.prefixes).toEqual(["pg/sub/"]);
    });

    it("keeps prefixes that share a stem apart (coll-1/ vs coll-10/)", async () => {
      const fs = freshFs();
      await writeMany(fs, [
        "coll-1/a.sst",
        "coll-1/level-0/b.sst",
        "coll-10/c.sst",
        "coll-1.json",
        "top.json",
      ]);
      expect((await listAll(fs, "coll-1/")).files.map((f) => f.key)).toEqual([
        "coll-1/a.sst",
        "coll-1/level-0/b.sst",
      ]);
      const root = await listAll(fs, "", { delimiter: true });
      expect(root.prefixes).toEqual(["coll-1/", "coll-10/"]);
      expect(root.files.map((f) => f.key)).toEqual(["coll-1.json", "top.json"]);
      const inner = await listAll(fs, "coll-1/", { delimiter: true });
      expect(inner).toMatchObject({ prefixes: ["coll-1/level-0/"] });
      expect(inner.files.map((f) => f.key)).toEqual(["coll-1/a.sst"]);
      // Without a trailing slash the prefix matches both stems, as on every object store.
      expect((await listAll(fs, "coll-1", { delimiter: true })).prefixes).toEqual(["coll-1/", "coll-10/"]);
    });

    it("lists a file's own path as that file, with its size", async () => {
      const fs = freshFs();
      await fs.write("a/file.txt", "12345");
      const { files } = await listAll(fs, "a/file.txt");
      expect(files).toEqual([expect.objectContaining({ key: "a/file.txt", size: 5 })]);
    });

    it("lists nothing for an empty prefix in an empty root", async () => {
      expect(await listAll(freshFs(), "")).toEqual({ files: [], prefixes: [] });
    });

    it("raises NotFound when the container itself is missing", async () => {
      const a = azurite();
      const fs = new AzureBlobFileSystem(`adls://${a.accountName}/gone-${randomUUID().slice(0, 8)}`, {
        accountKey: a.accountKey,
        endpoint: a.blobEndpoint,
      });
      await expectFsError(listAll(fs, ""), "NotFound");
    });
  });

  describe("exclusive create", () => {
    it("fails the second exclusive create with AlreadyExists and keeps the first body", async () => {
      const fs = freshFs();
      await fs.write("lock.json", "first", { exclusive: true });
      const e = await expectFsError(fs.write("lock.json", "second", { exclusive: true }), "AlreadyExists");
      expect(e.retryable).toBe(false);
      expect(text(await fs.read("lock.json"))).toBe("first");
      await expectFsError(
        fs.writeStream(
          "lock.json",
          (async function* () {
            yield Buffer.from("third");
          })(),
          { exclusive: true },
        ),
        "AlreadyExists",
      );
      expect(text(await fs.read("lock.json"))).toBe("first");
    });

    it("lets exactly one of 10 racing exclusive creates win (Azurite enforces If-None-Match)", async () => {
      const fs = freshFs();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => fs.write("race.json", `writer-${i}`, { exclusive: true })),
      );
      const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results)
        if (r.status === "rejected") expect((r.reason as FsError).kind).toBe("AlreadyExists");
      expect(text(await fs.read("race.json"))).toBe(`writer-${won[0]}`);
    });
  });

  describe("streams", () => {
    it("streams 24 MiB up in staged blocks (nothing visible before the commit) and back down intact", async () => {
      const fs = freshFs("unit", {
        accountKey: azurite().accountKey,
        endpoint: azurite().blobEndpoint,
        streamBlockSize: 4 * 1024 * 1024,
      });
      const chunk = Buffer.alloc(1024 * 1024);
      const sent = createHash("sha256");
      let stagedWhileStreaming = -1;
      let visibleWhileStreaming: boolean | undefined;
      const blobName = `${fs.root.prefix}/big/24mb.bin`;
      async function* source() {
        for (let i = 0; i < 24; i++) {
          chunk.fill(i);
          sent.update(chunk);
          yield Buffer.from(chunk);
          if (i === 20) {
            // Blocks reach the server while the source is still open: the body is never held whole.
            // (Waits for that to happen; an adapter that buffered everything would never get there.)
            for (let tries = 0; tries < 200 && stagedWhileStreaming <= 0; tries++) {
              const list = await rawContainer("unit")
                .getBlockBlobClient(blobName)
                .getBlockList("uncommitted")
                .catch(() => undefined);
              stagedWhileStreaming = list?.uncommittedBlocks?.length ?? 0;
              if (stagedWhileStreaming <= 0) await new Promise((r) => setTimeout(r, 25));
            }
            visibleWhileStreaming = await fs.exists("big/24mb.bin");
          }
        }
      }
      const { bytes } = await fs.writeStream("big/24mb.bin", source());
      expect(bytes).toBe(24 * 1024 * 1024);
      expect(stagedWhileStreaming).toBeGreaterThan(0);
      expect(visibleWhileStreaming).toBe(false);
      expect((await fs.stat("big/24mb.bin")).size).toBe(bytes);
      const got = createHash("sha256");
      let read = 0;
      for await (const c of fs.readStream("big/24mb.bin")) {
        got.update(c);
        read += c.byteLength;
      }
      expect(read).toBe(bytes);
      expect(got.digest("hex")).toBe(sent.digest("hex"));
    });

    it("leaves neither a new nor a half-written blob when the source fails midway", async () => {
      const fs = freshFs();
      await fs.write("seg.vpr", "old");
      async function* failing() {
        yield Buffer.alloc(5 * 1024 * 1024, 1);
        throw new Error("source broke");
      }
      await expect(fs.writeStream("seg.vpr", failing())).rejects.toThrow();
      await expect(fs.writeStream("fresh.vpr", failing())).rejects.toThrow();
      expect(text(await fs.read("seg.vpr"))).toBe("old");
      expect(await fs.exists("fresh.vpr")).toBe(false);
    });
  });

  describe("move", () => {
    it("moves a key server-side: the target has the body, the source is gone", async () => {
      const fs = freshFs();
      await fs.write("coll/_staging/f1.sst", "flushed");
      await fs.move("coll/_staging/f1.sst", "coll/level-0/f1.sst");
      expect(text(await fs.read("coll/level-0/f1.sst"))).toBe("flushed");
      expect(await fs.exists("coll/_staging/f1.sst")).toBe(false);
      expect(fs.capabilities).toMatchObject({ serverSideMove: true, atomicMove: false });
    });

    it("overwrites the target by default and refuses with AlreadyExists when overwrite is false", async () => {
      const fs = freshFs();
      await fs.write("a", "A");
      await fs.write("b", "B");
      await expectFsError(fs.move("a", "b", { overwrite: false }), "AlreadyExists");
      expect(text(await fs.read("a"))).toBe("A");
      expect(text(await fs.read("b"))).toBe("B");
      await fs.move("a", "b");
      expect(text(await fs.read("b"))).toBe("A");
      expect(await fs.exists("a")).toBe(false);
    });

    it("raises NotFound for a missing source and touches nothing", async () => {
      const fs = freshFs();
      await expectFsError(fs.move("missing", "target"), "NotFound");
      expect(await fs.exists("target")).toBe(false);
    });

    it("treats a move onto itself as a no-op that keeps the key", async () => {
      const fs = freshFs();
      await fs.write("same", "x");
      await fs.move("same", "same");
      expect(text(await fs.read("same"))).toBe("x");
    });
  });

  describe("bulk deletes", () => {
    it("deletes 300 keys in Blob Batch requests of 256, ignoring missing ones", async () => {
      const fs = freshFs();
      const keys = Array.from({ length: 300 }, (_, i) => `d/${i}`);
      await writeMany(fs, keys);
      await fs.write("keep/me", "k");
      await fs.deleteMany([...keys, "d/missing-1", "d/missing-2", "d/0"]);
      expect(await listAll(fs, "")).toMatchObject({ files: [expect.objectContaining({ key: "keep/me" })] });
    });

    it("deletes every key under a prefix and counts them, leaving sibling stems alone", async () => {
      const fs = freshFs();
      await writeMany(fs, ["coll-1/a", "coll-1/b/c", "coll-10/d", "coll-1.json"]);
      expect(await fs.deletePrefix("coll-1/")).toBe(2);
      expect((await listAll(fs, "")).files.map((f) => f.key)).toEqual(["coll-1.json", "coll-10/d"]);
    });
  });

  describe("authentication", () => {
    it("works with a connection string, an account key, a SAS token and a ready ContainerClient", async () => {
      const a = azurite();
      const { generateBlobSASQueryParameters, ContainerSASPermissions, StorageSharedKeyCredential } =
        await import("@azure/storage-blob");
      const sas = generateBlobSASQueryParameters(
        {
          containerName: "unit",
          permissions: ContainerSASPermissions.parse("racwdl"),
          expiresOn: new Date(Date.now() + 3600_000),
        },
        new StorageSharedKeyCredential(a.accountName, a.accountKey),
      ).toString();
      const url = freshRoot("unit");
      const variants: FileSystem[] = [
        new AzureBlobFileSystem(url, { connectionString: a.connectionString }),
        new AzureBlobFileSystem(url, { accountKey: a.accountKey, endpoint: a.blobEndpoint }),
        new AzureBlobFileSystem(url, { sasToken: `?${sas}`, endpoint: a.blobEndpoint }),
        new AzureBlobFileSystem(url, { containerClient: rawContainer("unit") }),
      ];
      for (const [i, fs] of variants.entries()) {
        await fs.write(`by-${i}`, `v${i}`);
        await fs.move(`by-${i}`, `moved-${i}`);
      }
      const { files } = await listAll(variants[0] as FileSystem, "");
      expect(files.map((f) => f.key)).toEqual(["moved-0", "moved-1", "moved-2", "moved-3"]);
      await (variants[2] as FileSystem).deleteMany(["moved-0", "moved-1"]);
      expect((await listAll(variants[2] as FileSystem, "")).files.map((f) => f.key)).toEqual([
        "moved-2",
        "moved-3",
      ]);
    });

    it("maps a wrong account key to PermissionDenied", async () => {
      const a = azurite();
      const fs = new AzureBlobFileSystem(freshRoot("unit"), {
        accountKey: Buffer.from("not-the-key-not-the-key-not-the-key").toString("base64"),
        endpoint: a.blobEndpoint,
      });
      await expectFsError(fs.write("x", "y"), "PermissionDenied");
    });

    it("never shows the account key, SAS signature or connection string in inspect, JSON or errors", async () => {
      const a = azurite();
      const wrongKey = Buffer.from("SECRET-wrong-key-SECRET-wrong-key").toString("base64");
      const sas = "sv=2021-12-02&ss=b&srt=sco&sp=rl&se=2020-01-01T00:00:00Z&sig=SECRETSIGNATURE%3D";
      const cases: { fs: AzureBlobFileSystem; secrets: string[] }[] = [
        {
          fs: new AzureBlobFileSystem(freshRoot("unit"), {
            accountKey: wrongKey,
            endpoint: a.blobEndpoint,
            retryOptions: FAST_RETRIES,
          }),
          secrets: [wrongKey],
        },
        {
          fs: new AzureBlobFileSystem(freshRoot("unit"), {
            sasToken: sas,
            endpoint: a.blobEndpoint,
            retryOptions: FAST_RETRIES,
          }),
          secrets: ["SECRETSIGNATURE", sas],
        },
        {
          fs: new AzureBlobFileSystem(freshRoot("unit"), {
            connectionString: a.connectionString.replace(a.accountKey, wrongKey),
            retryOptions: FAST_RETRIES,
          }),
          secrets: [wrongKey, "AccountKey="],
        },
      ];
      for (const { fs, secrets } of cases) {
        const errors = await Promise.all([
          fs.write("k", "v").catch((e: unknown) => e),
          fs.stat("k").catch((e: unknown) => e),
          listAll(fs, "").catch((e: unknown) => e),
          fs.move("k", "l").catch((e: unknown) => e),
        ]);
        const shown = [
          inspect(fs, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
          JSON.stringify(fs),
          String(fs),
          // What a logger that walks own properties would print (bypasses the custom inspect and toJSON).
          inspect({ ...fs }, { depth: Number.POSITIVE_INFINITY, showHidden: true, customInspect: false }),
          ...errors.flatMap((e) => {
            expect(e).toBeInstanceOf(FsError);
            return [
              inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
              JSON.stringify(e),
              (e as Error).stack ?? "",
            ];
          }),
        ].join("\n");
        for (const s of secrets) expect(shown).not.toContain(s);
        expect(shown).toContain(fs.root.url);
      }
    });
  });

  describe("configuration", () => {
    const a = () => azurite();

    it("needs exactly one way to authenticate", () => {
      expect(() => new AzureBlobFileSystem("adls://acct1/data", {} as never)).toThrow(InvalidArgumentError);
      expect(
        () => new AzureBlobFileSystem("adls://acct1/data", { accountKey: "a", sasToken: "b" } as never),
      ).toThrow(InvalidArgumentError);
    });

    it("refuses an endpoint next to a connection string, which names its own", () => {
      expect(
        () =>
          new AzureBlobFileSystem("adls://acct1/data", {
            connectionString: a().connectionString,
            endpoint: a().blobEndpoint,
          }),
      ).toThrow(InvalidArgumentError);
    });

    it("refuses a ContainerClient for another container than the root's", () => {
      expect(
        () =>
          new AzureBlobFileSystem(`adls://${a().accountName}/other`, {
            containerClient: rawContainer("unit"),
          }),
      ).toThrow(InvalidArgumentError);
    });

    it("refuses useDfsRename with Unsupported: atomic DFS rename is not available over the blob API", () => {
      let err: unknown;
      try {
        new AzureBlobFileSystem("adls://acct1/data", {
          accountKey: "a2V5",
          hierarchicalNamespace: true,
          useDfsRename: true,
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FsError);
      expect((err as FsError).kind).toBe("Unsupported");
    });

    it("records a hierarchical namespace without claiming atomic moves", () => {
      const fs = new AzureBlobFileSystem("adls://acct1/data", {
        accountKey: "a2V5",
        hierarchicalNamespace: true,
      });
      expect(fs.hierarchicalNamespace).toBe(true);
      expect(fs.capabilities.atomicMove).toBe(false);
    });

    it("serves only adls:// roots: another scheme is InvalidStorageUrlError", () => {
      expect(() => new AzureBlobFileSystem("s3://bucket/p", { accountKey: "a2V5" })).toThrow(
        InvalidStorageUrlError,
      );
    });

    it("refuses a stream block size or concurrency below 1 with InvalidArgumentError", () => {
      for (const bad of [{ streamBlockSize: 0 }, { streamConcurrency: -1 }, { streamConcurrency: 1.5 }]) {
        expect(
          () => new AzureBlobFileSystem("adls://acct1/data", { accountKey: "a2V5", ...bad }),
          JSON.stringify(bad),
        ).toThrow(InvalidArgumentError);
      }
    });

    it("opens adls roots through the provider with shared options", async () => {
      const provider = azureFileSystemProvider({ accountKey: a().accountKey, endpoint: a().blobEndpoint });
      expect(provider.schemes).toEqual(["adls"]);
      const fs = provider.open(parseStorageUrl(freshRoot("unit")));
      expect(fs).toBeInstanceOf(AzureBlobFileSystem);
      await fs.write("via-provider", "ok");
      expect(text(await fs.read("via-provider"))).toBe("ok");
    });
  });
});
