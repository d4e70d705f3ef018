import { describe, expect, it } from "vitest";
import {
  ClosedError,
  appendUnsupported,
  DELETE_CONCURRENCY,
  FS_CAPABILITY_FLAGS,
  type FileEntry,
  type FsCapabilities,
  FsError,
  InvalidArgumentError,
  InvalidStorageUrlError,
  assertDeletePrefix,
  assertDeletePrefixOp,
  assertFileKey,
  assertFileOp,
  assertListOp,
  assertOpen,
  assertRootScheme,
  checkReadRange,
  deleteManyBounded,
  existsByStat,
  fsCapabilities,
  intOption,
  listPageSize,
  moveOntoItself,
  parseStorageUrl,
  readByStream,
  readIfPresent,
} from "../src/index.js";

const root = parseStorageUrl("mem://support");
/** Every flag false, 1,000-key pages. */
const CAPS = {
  ...Object.fromEntries(FS_CAPABILITY_FLAGS.map((flag) => [flag, false])),
  maxListPageSize: 1000,
} as unknown as FsCapabilities;

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

/** A `stat` that knows one key, and throws `failure` for any other key when given. */
function statOf(present: string, failure?: Error) {
  return {
    root,
    stat: async (key: string): Promise<FileEntry> => {
      if (key === present) return { key, size: 1, mtimeMs: 1 };
      throw failure ?? new FsError("NotFound", `no ${key}`, { key });
    },
  };
}

describe("fsCapabilities", () => {
  it("returns a frozen copy with the overrides applied, leaving the base as it was", () => {
    const caps = fsCapabilities(CAPS, { fsync: true });
    expect(caps).toEqual({ ...CAPS, fsync: true });
    expect(Object.isFrozen(caps)).toBe(true);
    expect(CAPS.fsync).toBe(false);
  });

  it("refuses a flag that is not a boolean and a page size that is not a positive integer", () => {
    expect(() => fsCapabilities(CAPS, { append: "yes" as unknown as boolean })).toThrow(InvalidArgumentError);
    expect(() => fsCapabilities({ ...CAPS, remote: undefined } as unknown as FsCapabilities)).toThrow(
      InvalidArgumentError,
    );
    for (const maxListPageSize of [0, 1.5, Number.NaN])
      expect(() => fsCapabilities(CAPS, { maxListPageSize })).toThrow(InvalidArgumentError);
  });
});

describe("assertRootScheme", () => {
  it("returns the parsed root of an allowed scheme", () => {
    expect(assertRootScheme("mem://a/b", ["mem"], "X").url).toBe("mem://a/b");
    expect(assertRootScheme(root, ["file", "mem"], "X")).toBe(root);
  });

  it("refuses another scheme with InvalidStorageUrlError naming the URL and the adapter", () => {
    const err = thrown(() =>
      assertRootScheme("s3://bucket/p", ["gcs"], "GcsFileSystem"),
    ) as InvalidStorageUrlError;
    expect(err).toBeInstanceOf(InvalidStorageUrlError);
    expect(err.code).toBe("INVALID_STORAGE_URL");
    expect(err.url).toBe("s3://bucket/p");
    expect(err.message).toContain("GcsFileSystem serves gcs://");
  });
});

describe("assertOpen", () => {
  it("passes while open and throws ClosedError (CLOSED) naming the root and operation once closed", () => {
    expect(() => assertOpen(false, root, "read")).not.toThrow();
    const err = thrown(() => assertOpen(true, root, "read")) as ClosedError;
    expect(err).toBeInstanceOf(ClosedError);
    expect(err.code).toBe("CLOSED");
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("file system mem://support is closed (read)");
  });
});

describe("key checks", () => {
  it("assertFileKey accepts a file key and refuses a folder key or an escaping key with InvalidKey", () => {
    expect(assertFileKey("a/b.avro", root)).toBe("a/b.avro");
    for (const bad of ["a/", "../x", ""]) {
      const err = thrown(() => assertFileKey(bad, root)) as FsError;
      expect(err, bad).toBeInstanceOf(FsError);
      expect(err.kind, bad).toBe("InvalidKey");
      expect(err.root, bad).toBe(root.url);
    }
  });

  it("assertDeletePrefix accepts a prefix ending in '/' and refuses '', a bare stem or an escaping prefix", () => {
    expect(assertDeletePrefix("coll-1/", root)).toBe("coll-1/");
    for (const bad of ["", "coll-1", "../x/"]) {
      const err = thrown(() => assertDeletePrefix(bad, root)) as FsError;
      expect(err.kind, bad).toBe("InvalidKey");
    }
  });
});

describe("operation prologues", () => {
  it("assertFileOp returns the key while open, and checks open before the key", () => {
    expect(assertFileOp(false, root, "read", "coll-1/a")).toBe("coll-1/a");
    expect((thrown(() => assertFileOp(false, root, "read", "coll-1/")) as FsError).kind).toBe("InvalidKey");
    const err = thrown(() => assertFileOp(true, root, "read", "coll-1/")) as ClosedError;
    expect(err).toBeInstanceOf(ClosedError);
    expect(err.message).toBe("file system mem://support is closed (read)");
  });

  it("assertListOp returns the capped page size, accepts the empty prefix and refuses an escaping one or a closed instance", () => {
    expect(assertListOp(false, root, "", undefined, 500)).toBe(500);
    expect(assertListOp(false, root, "coll-1/", 20, 1000)).toBe(20);
    expect((thrown(() => assertListOp(false, root, "../x", undefined, 1000)) as FsError).kind).toBe(
      "InvalidKey",
    );
    expect(thrown(() => assertListOp(false, root, "", 0, 1000))).toBeInstanceOf(InvalidArgumentError);
    const err = thrown(() => assertListOp(true, root, "../x", undefined, 1000)) as ClosedError;
    expect(err.message).toBe("file system mem://support is closed (list)");
  });

  it("assertDeletePrefixOp returns the prefix while open and refuses a bare stem or a closed instance", () => {
    expect(assertDeletePrefixOp(false, root, "coll-1/")).toBe("coll-1/");
    expect((thrown(() => assertDeletePrefixOp(false, root, "coll-1")) as FsError).kind).toBe("InvalidKey");
    const err = thrown(() => assertDeletePrefixOp(true, root, "coll-1")) as ClosedError;
    expect(err.message).toBe("file system mem://support is closed (deletePrefix)");
  });
});

describe("checkReadRange", () => {
  it("accepts no range and ranges of non-negative integers", () => {
    for (const range of [undefined, { offset: 0 }, { offset: 7, length: 0 }, { offset: 2 ** 40, length: 3 }])
      expect(() => checkReadRange(range, "k")).not.toThrow();
  });

  it.each([
    { offset: -1 },
    { offset: 0.5 },
    { offset: Number.NaN },
    { offset: 0, length: -2 },
    { offset: 0, length: Number.POSITIVE_INFINITY },
    { offset: "3" as unknown as number },
  ])("refuses %j with InvalidArgumentError (INVALID_ARGUMENT) naming the key", (range) => {
    const err = thrown(() => checkReadRange(range, "coll/seg")) as InvalidArgumentError;
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.code).toBe("INVALID_ARGUMENT");
    expect(err.message).toContain('"coll/seg"');
  });
});

describe("listPageSize", () => {
  it("defaults to 1,000 and caps at the backend's page size", () => {
    expect(listPageSize(undefined, 5000)).toBe(1000);
    expect(listPageSize(undefined, 100)).toBe(100);
    expect(listPageSize(2500, 1000)).toBe(1000);
    expect(listPageSize(7, 1000)).toBe(7);
  });

  it("refuses a page size that is not a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN])
      expect(() => listPageSize(bad, 1000)).toThrow(InvalidArgumentError);
  });
});

describe("intOption", () => {
  it("returns the fallback when absent and the value when it is an integer of at least min", () => {
    expect(intOption("A", "n", undefined, 4)).toBe(4);
    expect(intOption("A", "n", 0, 4, 0)).toBe(0);
    expect(intOption("A", "n", 9, 4)).toBe(9);
  });

  it("refuses a value below min or not an integer, naming the adapter and option", () => {
    expect(() => intOption("S3FileSystem", "queueSize", 0, 4)).toThrow(/S3FileSystem option queueSize/);
    expect(() => intOption("A", "n", 2.5, 4)).toThrow(InvalidArgumentError);
  });
});

describe("existsByStat", () => {
  it("is true when stat succeeds and false on NotFound", async () => {
    const fs = statOf("here");
    expect(await existsByStat(fs, "here")).toBe(true);
    expect(await existsByStat(fs, "gone")).toBe(false);
  });

  it("passes on any other failure", async () => {
    const denied = new FsError("PermissionDenied", "no");
    await expect(existsByStat(statOf("here", denied), "other")).rejects.toBe(denied);
  });
});

describe("readIfPresent", () => {
  const stored = new Uint8Array([7, 8]);
  /** A `read` that holds only `here`; any other key fails with `failure`. */
  const holdingHere = (failure: Error) => ({
    read: async (key: string) => {
      if (key !== "here") throw failure;
      return stored;
    },
  });

  it("resolves to the file's bytes, and to undefined when the file is missing", async () => {
    const fs = holdingHere(new FsError("NotFound", "no such key"));
    await expect(readIfPresent(fs, "here")).resolves.toBe(stored);
    await expect(readIfPresent(fs, "gone")).resolves.toBeUndefined();
  });

  it("rethrows every failure but NotFound", async () => {
    const denied = new FsError("PermissionDenied", "no");
    await expect(readIfPresent(holdingHere(denied), "other")).rejects.toBe(denied);
  });
});

describe("deleteManyBounded", () => {
  it("deletes each distinct key once, never more than `concurrency` at a time", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i % 40}`);
    const seen: string[] = [];
    let inFlight = 0;
    let peak = 0;
    await deleteManyBounded(
      keys,
      async (k) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setImmediate(r));
        seen.push(k);
        inFlight--;
      },
      5,
    );
    expect([...seen].sort()).toEqual([...new Set(keys)].sort());
    expect(peak).toBe(5);
  });

  it("defaults to 16 in flight and rejects with the first failure", async () => {
    expect(DELETE_CONCURRENCY).toBe(16);
    let peak = 0;
    let inFlight = 0;
    const boom = new FsError("Transient", "busy");
    await expect(
      deleteManyBounded(
        Array.from({ length: 40 }, (_, i) => `k${i}`),
        async (k) => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
          if (k === "k20") throw boom;
        },
      ),
    ).rejects.toBe(boom);
    expect(peak).toBe(16);
  });
});

describe("moveOntoItself", () => {
  it("is a no-op for an existing key, NotFound for a missing one, AlreadyExists with overwrite: false", async () => {
    const fs = statOf("here");
    await expect(moveOntoItself(fs, "here")).resolves.toBeUndefined();
    await expect(moveOntoItself(fs, "gone")).rejects.toMatchObject({ kind: "NotFound" });
    const err = await moveOntoItself(fs, "here", { overwrite: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).kind).toBe("AlreadyExists");
    expect((err as FsError).key).toBe("here");
  });
});

describe("readByStream", () => {
  const streaming = (parts: number[][]) => ({
    async *readStream() {
      for (const p of parts) yield Uint8Array.from(p);
    },
  });

  it("joins the chunks of readStream in order into one buffer", async () => {
    expect([...(await readByStream(streaming([[1, 2], [], [3], [4, 5, 6]]), "k"))]).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect((await readByStream(streaming([]), "k")).byteLength).toBe(0);
  });

  it("returns a single chunk as it is, without a copy", async () => {
    const only = Uint8Array.from([9, 8]);
    const fs = {
      async *readStream() {
        yield only;
      },
    };
    expect(await readByStream(fs, "k")).toBe(only);
  });
});

describe("appendUnsupported", () => {
  it("is a non-retryable FsError Unsupported naming the key and the root", () => {
    const err = appendUnsupported(root, "wal/seg");
    expect(err).toBeInstanceOf(FsError);
    expect(err.kind).toBe("Unsupported");
    expect(err.retryable).toBe(false);
    expect({ key: err.key, root: err.root }).toEqual({ key: "wal/seg", root: "mem://support" });
  });
});
