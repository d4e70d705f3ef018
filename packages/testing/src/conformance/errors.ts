// Conformance cases that pin the error vocabulary: for each situation, the class, `code` and `kind` every
// adapter raises (see the "Error kinds" table of @proximadb/core).
import {
  ClosedError,
  type FileSystem,
  FsError,
  InvalidArgumentError,
  InvalidStorageUrlError,
} from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { collect, errorOf, expectError, expectFsError, listPages, writeAll } from "./helpers.js";
import type { DescribeFileSystemOptions } from "./options.js";

/** One root of each scheme; the suite hands every one not of the adapter's own scheme to `openRoot`. */
const FOREIGN_ROOTS = [
  "file:///tmp/pdb-conformance-foreign",
  "mem://pdb-conformance-foreign",
  "s3://pdb-foreign-bucket/p",
  "gcs://pdb-foreign-bucket/p",
  "adls://pdbforeign/container/p",
];
const BAD_RANGES = [
  { offset: -1 },
  { offset: 1.5 },
  { offset: Number.NaN },
  { offset: 0, length: -1 },
  { offset: 0, length: 2.5 },
  { offset: 2, length: Number.POSITIVE_INFINITY },
];
const BAD_PAGE_SIZES = [0, -1, 1.5, Number.NaN];

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

/**
 * Registers the error-vocabulary cases. `current` returns the case's file system (fresh per case), `open` a
 * further fresh one.
 */
export function describeErrorVocabulary(
  current: () => FileSystem,
  open: () => Promise<FileSystem>,
  options: DescribeFileSystemOptions,
): void {
  describe("error vocabulary: one class, code and kind per situation", () => {
    const openRoot = options.openRoot;
    const schemeName = "refuses a root of another scheme with InvalidStorageUrlError (INVALID_STORAGE_URL)";
    if (!openRoot) it.skip(`${schemeName} — no openRoot hook given`, () => {});
    else
      it(schemeName, async () => {
        const fs = current();
        const same = await openRoot(fs.root.url);
        expect(same.root.url).toBe(fs.root.url);
        await same.close();
        const foreign = FOREIGN_ROOTS.filter((u) => !u.startsWith(`${fs.root.scheme}://`));
        expect(foreign.length).toBe(FOREIGN_ROOTS.length - 1);
        for (const url of foreign) {
          const err = await expectError(() => openRoot(url), InvalidStorageUrlError, "INVALID_STORAGE_URL");
          expect(err.url, url).toBe(url);
        }
      });

    it("refuses a read range that is not non-negative integers with InvalidArgumentError (INVALID_ARGUMENT), before any I/O", async () => {
      const fs = current();
      await fs.write("r/digits", "0123456789");
      for (const range of BAD_RANGES) {
        const label = JSON.stringify(range);
        await expectError(fs.read("r/digits", range), InvalidArgumentError, "INVALID_ARGUMENT");
        await expectError(
          collect(fs.readStream("r/digits", range)),
          InvalidArgumentError,
          "INVALID_ARGUMENT",
        );
        // Checked before the key is looked up: a missing key gets the same answer.
        await expectError(fs.read("r/missing", range), InvalidArgumentError, "INVALID_ARGUMENT").catch(
          (e) => {
            throw new Error(`read of a missing key with ${label}: ${e.message}`);
          },
        );
      }
      if (fs.openReader) {
        const reader = await fs.openReader("r/digits");
        try {
          await expectError(reader.read(-1, 2), InvalidArgumentError, "INVALID_ARGUMENT");
          await expectError(reader.read(0, -1), InvalidArgumentError, "INVALID_ARGUMENT");
          await expectError(reader.read(0.5, 2), InvalidArgumentError, "INVALID_ARGUMENT");
        } finally {
          await reader.close();
        }
      }
      expect(Buffer.from(await fs.read("r/digits")).toString()).toBe("0123456789");
    });

    it("refuses a list pageSize that is not a positive integer with InvalidArgumentError; a large one is capped", async () => {
      const fs = current();
      await fs.write("p/one", "1");
      for (const pageSize of BAD_PAGE_SIZES) {
        await expectError(listPages(fs, "p/", { pageSize }), InvalidArgumentError, "INVALID_ARGUMENT");
      }
      expect((await listPages(fs, "p/", { pageSize: 1_000_000 })).files).toEqual(["p/one"]);
    });

    it("answers a missing key with FsError NotFound (FS_ERROR) on every read path, ranged and zero-length too", async () => {
      const fs = current();
      for (const range of [undefined, { offset: 0, length: 0 }, { offset: 100 }, { offset: 1, length: 2 }]) {
        const label = JSON.stringify(range);
        expect((await expectFsError(fs.read("gone/key", range), "NotFound")).key, label).toBe("gone/key");
        await expectFsError(collect(fs.readStream("gone/key", range)), "NotFound");
      }
      await expectFsError(fs.stat("gone/key"), "NotFound");
      await expectFsError(fs.move("gone/key", "gone/other"), "NotFound");
      if (fs.openReader) await expectFsError(fs.openReader("gone/key"), "NotFound");
    });

    it("treats a folder (a prefix with files under it) as a missing key: NotFound, exists false, delete a no-op", async () => {
      const fs = current();
      await fs.write("dir/file", "inside");
      await expectFsError(fs.read("dir"), "NotFound");
      await expectFsError(collect(fs.readStream("dir")), "NotFound");
      await expectFsError(fs.stat("dir"), "NotFound");
      expect(await fs.exists("dir")).toBe(false);
      await expect(fs.delete("dir")).resolves.toBeUndefined();
      expect(Buffer.from(await fs.read("dir/file")).toString()).toBe("inside");
    });

    it("refuses a file key ending in '/' with FsError InvalidKey on every file operation, touching nothing", async () => {
      const fs = current();
      await fs.write("dir/file", "inside");
      const calls: [string, () => Promise<unknown>][] = [
        ["write", () => fs.write("dir/", "x")],
        ["writeStream", () => fs.writeStream("dir/", chunks("x"))],
        ["read", () => fs.read("dir/")],
        ["readStream", () => collect(fs.readStream("dir/"))],
        ["stat", () => fs.stat("dir/")],
        ["exists", () => fs.exists("dir/")],
        ["delete", () => fs.delete("dir/")],
        ["deleteMany", () => fs.deleteMany(["dir/file", "dir/"])],
        ["openAppend", () => fs.openAppend("dir/")],
        ["move to a folder key", () => fs.move("dir/file", "other/")],
        ["move from a folder key", () => fs.move("dir/", "other/file")],
      ];
      for (const [name, call] of calls) {
        await expectFsError(call, "InvalidKey").catch((e) => {
          throw new Error(`${name}: ${e.message}`);
        });
      }
      expect((await listPages(fs, "")).files).toEqual(["dir/file"]);
    });

    it("refuses a batch with one escaping key with InvalidKey and deletes none of it", async () => {
      const fs = current();
      await writeAll(fs, ["b/1", "b/2"]);
      await expectFsError(fs.deleteMany(["b/1", "../b/2", "b/2"]), "InvalidKey");
      expect((await listPages(fs, "b/")).files).toEqual(["b/1", "b/2"]);
    });

    it("refuses a bad deletePrefix prefix with FsError InvalidKey", async () => {
      const fs = current();
      for (const bad of ["", "coll-1", "../x/"]) await expectFsError(fs.deletePrefix(bad), "InvalidKey");
    });

    it("answers an exclusive create of an existing key with FsError AlreadyExists on write and writeStream", async () => {
      const fs = current();
      await fs.write("x/once", "first", { exclusive: true });
      const err = await expectFsError(fs.write("x/once", "second", { exclusive: true }), "AlreadyExists");
      expect(err.key).toBe("x/once");
      expect(err.retryable).toBe(false);
      await expectFsError(fs.writeStream("x/once", chunks("third"), { exclusive: true }), "AlreadyExists");
      expect(Buffer.from(await fs.read("x/once")).toString()).toBe("first");
    });

    it("moves a key onto itself as a move would: NotFound when missing, AlreadyExists with overwrite: false", async () => {
      const fs = current();
      await expectFsError(fs.move("self/none", "self/none"), "NotFound");
      await fs.write("self/key", "bytes");
      await expect(fs.move("self/key", "self/key")).resolves.toBeUndefined();
      await expectFsError(fs.move("self/key", "self/key", { overwrite: false }), "AlreadyExists");
      expect(Buffer.from(await fs.read("self/key")).toString()).toBe("bytes");
    });

    it("rejects a listing whose signal is aborted with the signal's own reason, not a storage error", async () => {
      const fs = current();
      await fs.write("ab/x", "1");
      const ac = new AbortController();
      ac.abort();
      expect(await errorOf(listPages(fs, "ab/", { signal: ac.signal }))).toBe(ac.signal.reason);
    });

    it("after close(), rejects every operation with ClosedError (CLOSED); closing again is harmless", async () => {
      const closed = await open();
      await options.cleanup?.(closed);
      await closed.close();
      await expect(closed.close()).resolves.toBeUndefined();
      const calls: [string, () => Promise<unknown>][] = [
        ["probe", () => closed.probe()],
        ["list", () => listPages(closed, "")],
        ["stat", () => closed.stat("k")],
        ["exists", () => closed.exists("k")],
        ["read", () => closed.read("k")],
        ["readStream", () => collect(closed.readStream("k"))],
        ["write", () => closed.write("k", "x")],
        ["writeStream", () => closed.writeStream("k", chunks("x"))],
        ["openAppend", () => closed.openAppend("k")],
        ["move", () => closed.move("k", "l")],
        ["delete", () => closed.delete("k")],
        ["deleteMany", () => closed.deleteMany(["k"])],
        ["deletePrefix", () => closed.deletePrefix("k/")],
      ];
      if (closed.openReader)
        calls.push(["openReader", () => (closed.openReader as (k: string) => Promise<unknown>)("k")]);
      for (const [name, call] of calls) {
        const err = await expectError(call, ClosedError, "CLOSED").catch((e) => {
          throw new Error(`${name}: ${e.message}`);
        });
        expect(err.retryable, name).toBe(false);
        expect(err, name).not.toBeInstanceOf(FsError);
      }
    });
  });
}
