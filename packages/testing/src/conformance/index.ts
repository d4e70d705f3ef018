import { createHash } from "node:crypto";
import { FS_CAPABILITY_FLAGS, type FileSystem, FsError, ProximaError } from "@proximadb/core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeCopyAndChecksums } from "./copy-checksum.js";
import { describeErrorVocabulary } from "./errors.js";
import {
  collect,
  compareUtf8,
  errorOf,
  expectFsError,
  fsErrorOf,
  listPages,
  patternChunk,
  patternDigest,
  retainedBytes,
  writeAll,
} from "./helpers.js";
import type { DescribeFileSystemOptions } from "./options.js";

export { compareUtf8, errorOf, expectError, expectFsError, fsErrorOf, listPages } from "./helpers.js";
export type { DescribeFileSystemOptions } from "./options.js";

const MiB = 1024 * 1024;
const INVALID_KEYS = ["../x", "a/../../x", "/abs", "a//b", "a\0b", "./x"];
const ESCAPING_KEYS = [
  "esc/with space.txt",
  "esc/plus+sign.bin",
  "esc/percent%20literal",
  "esc/hash#tag",
  "esc/amp&eq=.txt",
  "esc/unicodé/日本語-😀.bin",
];

/** `it(name, fn)`, or a skipped `it` naming why when the property is not verifiable on this backend. */
function itUnlessUnverifiable(
  name: string,
  notVerifiable: string | undefined,
  fn: () => Promise<void>,
): void {
  if (notVerifiable) it.skip(`${name} — not verifiable here: ${notVerifiable}`, () => {});
  else it(name, fn);
}

/**
 * The FileSystem conformance suite: registers vitest cases that every adapter must pass.
 *
 * @example
 * describeFileSystem("fs-local", {
 *   create: async () => new LocalFileSystem(await mkdtemp(join(tmpdir(), "pdb-"))),
 *   openRoot: (url) => new LocalFileSystem(url),
 * });
 */
export function describeFileSystem(name: string, options: DescribeFileSystemOptions): void {
  const streamBytes = options.streamBytes ?? 50 * MiB;
  const manyKeys = options.manyKeys ?? 1100;
  const open = async () => await options.create();
  const release = async (fs: FileSystem | undefined) => {
    if (!fs) return;
    await options.cleanup?.(fs);
    await fs.close();
  };

  describe(`FileSystem conformance: ${name}`, () => {
    let fs: FileSystem;
    beforeEach(async () => {
      fs = await open();
    });
    afterEach(async () => {
      await release(fs);
    });

    describe("capabilities and probe", () => {
      it("declares every capability with the right type", () => {
        const c = fs.capabilities;
        for (const k of FS_CAPABILITY_FLAGS) expect(typeof c[k], k).toBe("boolean");
        expect(Number.isInteger(c.maxListPageSize) && c.maxListPageSize > 0).toBe(true);
      });

      it("probe() reports an existing root as existing", async () => {
        await fs.write("probe/marker", "x");
        expect(await fs.probe()).toEqual({ exists: true });
      });

      it("serves a root whose url is canonical", () => {
        expect(typeof fs.root.url).toBe("string");
        expect(fs.root.url).toMatch(/^[a-z][a-z0-9+.-]*:\/\//);
      });
    });

    describe("write, read, stat, delete", () => {
      it("reads back exactly the bytes written, and stats their size", async () => {
        const data = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7) & 0xff);
        await fs.write("coll-a/data/part-0001.bin", data);
        expect(Buffer.from(await fs.read("coll-a/data/part-0001.bin")).equals(Buffer.from(data))).toBe(true);
        const st = await fs.stat("coll-a/data/part-0001.bin");
        expect(st.key).toBe("coll-a/data/part-0001.bin");
        expect(st.size).toBe(4096);
        expect(Number.isFinite(st.mtimeMs) && st.mtimeMs > 0).toBe(true);
        expect(await fs.exists("coll-a/data/part-0001.bin")).toBe(true);
      });

      it("writes strings as UTF-8 and an empty body as a zero-byte key", async () => {
        await fs.write("s/utf8.txt", "héllo ✓");
        await fs.write("s/empty", new Uint8Array(0));
        expect(Buffer.from(await fs.read("s/utf8.txt")).toString("utf8")).toBe("héllo ✓");
        expect((await fs.stat("s/empty")).size).toBe(0);
        expect((await fs.read("s/empty")).length).toBe(0);
      });

      it("overwrites a key on a plain write", async () => {
        await fs.write("o/key", "first version");
        await fs.write("o/key", "second");
        expect(Buffer.from(await fs.read("o/key")).toString()).toBe("second");
        expect((await fs.stat("o/key")).size).toBe(6);
      });

      it("creates parent folders on write", async () => {
        await fs.write("deep/a/b/c/d/e.bin", "x");
        expect(await fs.exists("deep/a/b/c/d/e.bin")).toBe(true);
      });

      it("reads a byte range: offset and length, offset to the end, length past the end", async () => {
        await fs.write("r/digits", "0123456789");
        const text = async (range: { offset: number; length?: number }) =>
          Buffer.from(await fs.read("r/digits", range)).toString();
        expect(await text({ offset: 2, length: 3 })).toBe("234");
        expect(await text({ offset: 7 })).toBe("789");
        expect(await text({ offset: 8, length: 100 })).toBe("89");
        expect(await text({ offset: 0, length: 10 })).toBe("0123456789");
        expect((await collect(fs.readStream("r/digits", { offset: 1, length: 4 }))).toString()).toBe("1234");
      });

      it("openReader (when offered) reads ranges through one handle, even after the key is replaced", async (ctx) => {
        if (!fs.openReader) return ctx.skip("this backend does not offer openReader");
        await fs.write("r/table", "0123456789");
        const reader = await fs.openReader("r/table");
        try {
          expect(Buffer.from(await reader.read(2, 3)).toString()).toBe("234");
          expect(Buffer.from(await reader.read(8, 100)).toString()).toBe("89");
          await fs.write("r/table", "replaced!!");
          // An open handle keeps reading the file it opened (a compacted-away table stays readable).
          expect(Buffer.from(await reader.read(0, 4)).toString()).toBe("0123");
        } finally {
          await reader.close();
        }
        await expectFsError(fs.openReader("missing/key"), "NotFound");
      });

      it("throws NotFound for read, readStream and stat of a missing key; exists() is false", async () => {
        await expectFsError(fs.read("missing/key"), "NotFound");
        await expectFsError(collect(fs.readStream("missing/key")), "NotFound");
        await expectFsError(fs.stat("missing/key"), "NotFound");
        expect(await fs.exists("missing/key")).toBe(false);
      });

      it("deletes a key, and deleting a missing key succeeds", async () => {
        await fs.write("d/key", "x");
        await fs.delete("d/key");
        expect(await fs.exists("d/key")).toBe(false);
        await expect(fs.delete("d/key")).resolves.toBeUndefined();
        await expect(fs.delete("never/was")).resolves.toBeUndefined();
      });

      it("deleteMany deletes the given keys, ignores missing ones and keeps the rest", async () => {
        await writeAll(fs, ["m/1", "m/2", "m/3", "m/keep"]);
        await fs.deleteMany(["m/1", "m/2", "m/3", "m/missing"]);
        expect((await listPages(fs, "m/")).files).toEqual(["m/keep"]);
        await expect(fs.deleteMany([])).resolves.toBeUndefined();
      });

      it("deletePrefix deletes everything under the prefix, nothing that only shares its stem, and counts", async () => {
        await writeAll(fs, ["coll-1/a", "coll-1/sub/b", "coll-1/sub/deeper/c", "coll-10/a", "coll-1x"]);
        expect(await fs.deletePrefix("coll-1/")).toBe(3);
        expect((await listPages(fs, "")).files).toEqual(["coll-10/a", "coll-1x"]);
        expect((await listPages(fs, "", { delimiter: true })).prefixes).toEqual(["coll-10/"]);
        expect(await fs.deletePrefix("nothing-here/")).toBe(0);
      });

      it("deletePrefix refuses an empty prefix or one without a trailing '/', deleting nothing", async () => {
        await writeAll(fs, ["coll-1/a", "coll-10/a"]);
        for (const bad of ["", "coll-1"]) {
          const err = await fs.deletePrefix(bad).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err, `deletePrefix(${JSON.stringify(bad)})`).toBeInstanceOf(ProximaError);
        }
        expect((await listPages(fs, "")).files).toEqual(["coll-1/a", "coll-10/a"]);
      });
    });

    describe("keys and errors", () => {
      it("rejects keys that would escape the root with InvalidKey, touching nothing", async () => {
        for (const key of INVALID_KEYS) {
          const label = JSON.stringify(key);
          expect((await fsErrorOf(fs.write(key, "x"))).kind, `write ${label}`).toBe("InvalidKey");
          expect((await fsErrorOf(fs.read(key))).kind, `read ${label}`).toBe("InvalidKey");
          expect((await fsErrorOf(fs.stat(key))).kind, `stat ${label}`).toBe("InvalidKey");
          expect((await fsErrorOf(fs.delete(key))).kind, `delete ${label}`).toBe("InvalidKey");
        }
        await fs.write("ok/src", "x");
        expect((await fsErrorOf(fs.move("ok/src", "../escaped"))).kind).toBe("InvalidKey");
        expect((await fsErrorOf(listPages(fs, "../"))).kind).toBe("InvalidKey");
        expect((await listPages(fs, "")).files).toEqual(["ok/src"]);
      });

      it("stores keys that need escaping (space, +, %, #, &, =, unicode) under exactly those names", async () => {
        await writeAll(fs, ESCAPING_KEYS);
        for (const k of ESCAPING_KEYS) expect(Buffer.from(await fs.read(k)).toString(), k).toBe(k);
        const listed = (await listPages(fs, "esc/")).files;
        expect([...listed].sort()).toEqual([...ESCAPING_KEYS].sort());
        expect((await fs.stat("esc/hash#tag")).size).toBe(Buffer.byteLength("esc/hash#tag"));
        await fs.move("esc/with space.txt", "esc/moved + 100%.txt");
        expect(await fs.exists("esc/moved + 100%.txt")).toBe(true);
        expect(await fs.exists("esc/with space.txt")).toBe(false);
      });
    });

    describeErrorVocabulary(() => fs, open, options);
    describeCopyAndChecksums(
      () => fs,
      async (of) => (options.openSibling ? await options.openSibling(of) : await open()),
      release,
    );

    describe("listing semantics", () => {
      it("a prefix ending in '/' never matches a sibling that shares its stem (coll-1/ vs coll-10/)", async () => {
        await writeAll(fs, ["coll-1/a.wal", "coll-1/b/c.wal", "coll-10/a.wal", "coll-1x"]);
        expect((await listPages(fs, "coll-1/")).files).toEqual(["coll-1/a.wal", "coll-1/b/c.wal"]);
        expect((await listPages(fs, "coll-1")).files).toEqual([
          "coll-1/a.wal",
          "coll-1/b/c.wal",
          "coll-10/a.wal",
          "coll-1x",
        ]);
        const top = await listPages(fs, "", { delimiter: true });
        expect(top.prefixes).toEqual(["coll-1/", "coll-10/"]);
        expect(top.files).toEqual(["coll-1x"]);
      });

      it("listing a file's own path returns that file", async () => {
        await writeAll(fs, ["a/file.txt", "a/file.txt.bak", "a/other"]);
        expect((await listPages(fs, "a/file.txt")).files).toEqual(["a/file.txt", "a/file.txt.bak"]);
        expect((await listPages(fs, "a/file.txt", { delimiter: true })).files).toEqual([
          "a/file.txt",
          "a/file.txt.bak",
        ]);
      });

      it("delimiter mode lists the level under the prefix, sub-folders as prefixes ending in '/'", async () => {
        await writeAll(fs, ["top.txt", "d1/x", "d1/y/z", "d1/y/w/v", "d2/w"]);
        const root = await listPages(fs, "", { delimiter: true });
        expect(root.files).toEqual(["top.txt"]);
        expect(root.prefixes).toEqual(["d1/", "d2/"]);
        const d1 = await listPages(fs, "d1/", { delimiter: true });
        expect(d1.files).toEqual(["d1/x"]);
        expect(d1.prefixes).toEqual(["d1/y/"]);
        const flat = await listPages(fs, "d1/");
        expect(flat.files).toEqual(["d1/x", "d1/y/w/v", "d1/y/z"]);
        expect(flat.prefixes).toEqual([]);
      });

      it("reports each file's size in listings", async () => {
        await fs.write("sz/three", "abc");
        const pages: number[] = [];
        for await (const p of fs.list("sz/")) pages.push(...p.files.map((f) => f.size));
        expect(pages).toEqual([3]);
      });

      it("listing a prefix with nothing under it yields no keys", async () => {
        await fs.write("present/x", "1");
        expect(await listPages(fs, "absent/")).toEqual({ files: [], prefixes: [], pageSizes: [] });
        expect((await listPages(fs, "absent/", { delimiter: true })).files).toEqual([]);
      });
    });

    describe(`listing ${manyKeys} keys`, () => {
      let big: FileSystem;
      // Even i: a file directly under many/; odd i: a file one level down, i.e. a sub-prefix in delimiter mode.
      const keys = Array.from({ length: manyKeys }, (_, i) => {
        const n = String(i).padStart(5, "0");
        return i % 2 === 0 ? `many/k-${n}` : `many/k-${n}/leaf`;
      });
      const sorted = [...keys].sort(compareUtf8);
      beforeAll(async () => {
        big = await open();
        await writeAll(big, keys);
        await big.write("many-other/x", "not under many/");
      }, 600_000);
      afterAll(async () => {
        await release(big);
      });

      it("flat mode with the default page size returns every key once, ascending, in pages of at most 1,000", async () => {
        const got = await listPages(big, "many/");
        expect(got.files.length).toBe(manyKeys);
        expect(new Set(got.files).size).toBe(manyKeys);
        expect(got.files).toEqual(sorted);
        expect(Math.max(...got.pageSizes)).toBeLessThanOrEqual(
          Math.min(1000, big.capabilities.maxListPageSize),
        );
        if (manyKeys > 1000) expect(got.pageSizes.length).toBeGreaterThan(1);
      });

      it("flat mode with small pages returns the same keys, in pages no larger than asked", async () => {
        const got = await listPages(big, "many/", { pageSize: 100 });
        expect(got.files).toEqual(sorted);
        expect(got.pageSizes.length).toBeGreaterThanOrEqual(Math.ceil(manyKeys / 100));
        expect(Math.max(...got.pageSizes)).toBeLessThanOrEqual(100);
      });

      it("delimiter mode returns every file and sub-prefix of the level once, across pages", async () => {
        for (const pageSize of [undefined, 128]) {
          const got = await listPages(big, "many/", { delimiter: true, pageSize });
          const files = keys.filter((k) => !k.endsWith("/leaf")).sort(compareUtf8);
          const prefixes = keys
            .filter((k) => k.endsWith("/leaf"))
            .map((k) => k.slice(0, -"leaf".length))
            .sort(compareUtf8);
          expect(got.files, `pageSize ${pageSize}`).toEqual(files);
          expect(got.prefixes, `pageSize ${pageSize}`).toEqual(prefixes);
          if (pageSize) expect(Math.max(...got.pageSizes)).toBeLessThanOrEqual(pageSize);
        }
      });

      it("lists the whole root in ascending order, including keys outside the prefix", async () => {
        const got = await listPages(big, "");
        expect(got.files.length).toBe(manyKeys + 1);
        expect(got.files).toEqual([...sorted, "many-other/x"].sort(compareUtf8));
      });
    });

    describe("exclusive create", () => {
      it("a second exclusive create of a key throws AlreadyExists and keeps the first bytes", async () => {
        await fs.write("x/lock", "first", { exclusive: true });
        await expectFsError(fs.write("x/lock", "second", { exclusive: true }), "AlreadyExists");
        expect(Buffer.from(await fs.read("x/lock")).toString()).toBe("first");
      });

      itUnlessUnverifiable(
        "of racing exclusive creates of one key, exactly one wins and the others get AlreadyExists",
        options.notVerifiable?.conditionalCreateRace,
        async () => {
          const contenders = Array.from({ length: 8 }, (_, i) => `contender-${i}`);
          const results = await Promise.allSettled(
            contenders.map((c) => fs.write("x/race", c, { exclusive: true })),
          );
          const winners = contenders.filter((_, i) => results[i]?.status === "fulfilled");
          expect(winners).toHaveLength(1);
          for (const r of results) {
            if (r.status === "rejected") {
              expect(r.reason).toBeInstanceOf(FsError);
              expect((r.reason as FsError).kind).toBe("AlreadyExists");
            }
          }
          expect(Buffer.from(await fs.read("x/race")).toString()).toBe(winners[0]);
        },
      );
    });

    describe("move", () => {
      it("moves a key within the root: the source is gone, the target has the bytes", async () => {
        await fs.write("coll/_staging/seg-1", "segment bytes");
        await fs.move("coll/_staging/seg-1", "coll/live/seg-1");
        expect(await fs.exists("coll/_staging/seg-1")).toBe(false);
        expect(Buffer.from(await fs.read("coll/live/seg-1")).toString()).toBe("segment bytes");
      });

      it("overwrites an existing target by default", async () => {
        await writeAll(fs, ["mv/src", "mv/dst"]);
        await fs.move("mv/src", "mv/dst");
        expect(Buffer.from(await fs.read("mv/dst")).toString()).toBe("mv/src");
        expect(await fs.exists("mv/src")).toBe(false);
      });

      it("with overwrite: false, refuses an existing target with AlreadyExists and keeps both", async () => {
        await writeAll(fs, ["mv/src", "mv/dst"]);
        await expectFsError(fs.move("mv/src", "mv/dst", { overwrite: false }), "AlreadyExists");
        expect(Buffer.from(await fs.read("mv/dst")).toString()).toBe("mv/dst");
        expect(Buffer.from(await fs.read("mv/src")).toString()).toBe("mv/src");
        await fs.move("mv/src", "mv/new", { overwrite: false });
        expect(await fs.exists("mv/new")).toBe(true);
      });

      it("throws NotFound when the source is missing", async () => {
        await expectFsError(fs.move("mv/none", "mv/target"), "NotFound");
        expect(await fs.exists("mv/target")).toBe(false);
      });

      itUnlessUnverifiable(
        "readers of the target during an overwriting move see the old or the new bytes in full",
        options.notVerifiable?.atomicMove,
        async () => {
          const oldBytes = "old ".repeat(4096);
          const newBytes = "new ".repeat(8192);
          await fs.write("am/target", oldBytes);
          await fs.write("am/source", newBytes);
          const seen = new Set<string>();
          let done = false;
          const reader = (async () => {
            do seen.add(Buffer.from(await fs.read("am/target")).toString());
            while (!done);
          })();
          await fs.move("am/source", "am/target");
          done = true;
          await reader;
          seen.add(Buffer.from(await fs.read("am/target")).toString());
          for (const s of seen) expect([oldBytes, newBytes]).toContain(s);
          expect(seen.has(newBytes)).toBe(true);
        },
      );
    });

    describe("streams", () => {
      const chunk = MiB;
      it(`writes and reads ${Math.round(streamBytes / MiB)} MiB as a stream without buffering the whole body`, async () => {
        const before = retainedBytes();
        let writePeak = 0;
        let pulled = 0;
        async function* source() {
          for (let i = 0, left = streamBytes; left > 0; i++, left -= chunk) {
            if (i % 8 === 0) writePeak = Math.max(writePeak, retainedBytes() - before);
            pulled++;
            yield patternChunk(i, Math.min(chunk, left));
          }
        }
        const { bytes } = await fs.writeStream("big/stream.bin", source());
        expect(bytes).toBe(streamBytes);
        expect(pulled).toBe(Math.ceil(streamBytes / chunk));
        // An in-memory backend holds the body itself, in a buffer that grows by reallocation: up to
        // twice the body for a moment (old copy + new capacity).
        const resident = options.memoryResident ? 2 * streamBytes : 0;
        // The bound sits between what a streaming adapter holds (a few parts plus SDK and socket buffers:
        // up to ~32 MiB seen on s3rver under load) and the body itself, which a buffering adapter holds whole.
        expect(writePeak, "memory retained while writing").toBeLessThan(resident + streamBytes * 0.75);
        expect((await fs.stat("big/stream.bin")).size).toBe(streamBytes);

        const readBase = retainedBytes();
        let readPeak = 0;
        let largest = 0;
        let n = 0;
        const h = createHash("sha256");
        for await (const c of fs.readStream("big/stream.bin")) {
          h.update(c);
          largest = Math.max(largest, c.length);
          if (++n % 8 === 0) readPeak = Math.max(readPeak, retainedBytes() - readBase);
        }
        expect(h.digest("hex")).toBe(patternDigest(streamBytes, chunk));
        expect(largest, "largest chunk read").toBeLessThanOrEqual(streamBytes / 4);
        expect(readPeak, "memory retained while reading").toBeLessThan(streamBytes * 0.75);
      }, 300_000);

      it("an aborted streaming write rejects with the signal's reason and leaves no visible key", async () => {
        const ac = new AbortController();
        async function* source() {
          yield Buffer.alloc(64 * 1024, 1);
          yield Buffer.alloc(64 * 1024, 2);
          ac.abort();
          yield Buffer.alloc(64 * 1024, 3);
        }
        const err = await errorOf(fs.writeStream("ab/partial.bin", source(), { signal: ac.signal }));
        // The rejection is the signal's own reason (as for fetch and node:fs), not a wrapped storage error.
        expect(err).toBe(ac.signal.reason);
        expect(await fs.exists("ab/partial.bin")).toBe(false);
        expect((await listPages(fs, "ab/partial.bin")).files).not.toContain("ab/partial.bin");
      });
    });

    describe("append", () => {
      it("openAppend appends, syncs, truncates a torn tail and reopens at the end — or is Unsupported", async () => {
        if (!fs.capabilities.append) {
          await expectFsError(fs.openAppend("wal/seg"), "Unsupported");
          return;
        }
        const h = await fs.openAppend("wal/seg");
        expect(h.size).toBe(0);
        await h.write(Buffer.from("record-1;"));
        await h.write(Buffer.from("torn"));
        await h.sync();
        expect(h.size).toBe(13);
        await h.truncate(9);
        await h.write(Buffer.from("record-2;"));
        await h.sync();
        await h.close();
        expect(Buffer.from(await fs.read("wal/seg")).toString()).toBe("record-1;record-2;");
        const again = await fs.openAppend("wal/seg");
        expect(again.size).toBe(18);
        await again.write(Buffer.from("record-3;"));
        await again.close();
        expect(Buffer.from(await fs.read("wal/seg")).toString()).toBe("record-1;record-2;record-3;");
      });
    });
  });
}
