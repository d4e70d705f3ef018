import { createHash } from "node:crypto";
import { type CollectionId, type FileSystem, type ReadRange, createXxh64, listAll } from "@proximadb/core";
import { type RootSet, describeOnBackends, useBackend } from "@proximadb/testing-backends";
import { beforeEach, describe, expect, it, vi } from "vitest";
import {
  type CommitRecord,
  MoveError,
  type MoveHooks,
  type MoveSpec,
  Throttle,
  commitKey,
  deleteRetired,
  recoverMoves,
  runMove,
} from "../src/index.js";

const COLLECTION = "orders" as CollectionId;
const FILES: Record<string, string> = {
  "orders/vectors/part-1.parquet": "p1".repeat(5000),
  "orders/vectors/part-2.parquet": "p2".repeat(300),
  "orders/level-0/1.sst": "sst",
};

function spec(roots: RootSet, id = "m1"): MoveSpec {
  return {
    id,
    collection: COLLECTION,
    component: "viper",
    from: roots.urls[0] as string,
    to: roots.urls[1] as string,
  };
}

async function contents(fs: FileSystem, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await listAll(fs, prefix)).files)
    out[f.key] = new TextDecoder().decode(await fs.read(f.key));
  return out;
}

/** The collection's files as they are under `<id>/` of one root, keyed relative to the collection. */
async function live(fs: FileSystem): Promise<Record<string, string>> {
  return contents(fs, "orders/");
}

/** `fs` with some members replaced (a faulty disk, a counting wrapper); every other member is `fs`'s own. */
function overriding(fs: FileSystem, members: Partial<Record<keyof FileSystem, unknown>>): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      if (Object.hasOwn(members, prop)) return members[prop as keyof FileSystem];
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The checksums the move must have recorded for a file of {@link FILES}: xxh64 of the bytes, or the servers' MD5. */
function expectedChecksum(path: string, f: { xxh64?: string; checksum?: unknown }) {
  const bytes = Buffer.from(FILES[`orders/${path}`] as string);
  return f.checksum
    ? { checksum: { algorithm: "md5", value: createHash("md5").update(bytes).digest("hex") } }
    : { xxh64: createXxh64().update(bytes).digest() };
}

const plainHooks = (afterCommit: (r: CommitRecord) => Promise<void> = async () => undefined): MoveHooks => ({
  fenced: (work) => work(),
  afterCommit,
});

/** Steps of runMove in order, each a point where the process may die. */
const STEPS = ["pass-1", "fenced", "final-pass", "committed", "promoted", "switched", "retired", "finished"];

describeOnBackends("runMove", ["memory", "local", "s3", "azure", "gcs"], (backend) => {
  let roots: RootSet;
  let src: FileSystem;
  let dst: FileSystem;
  beforeEach(async () => {
    roots = await backend.roots("viper", 2);
    [src, dst] = roots.fileSystems() as [FileSystem, FileSystem];
    await roots.write(roots.urls[0] as string, FILES);
  });

  it("leaves the collection's exact files in the destination and none in the source", async () => {
    await runMove(src, dst, spec(roots), plainHooks());
    expect(await live(dst)).toEqual(FILES);
    expect(await live(src)).toEqual({});
    await deleteRetired(src);
    expect((await listAll(src, "")).files).toEqual([]);
    expect((await listAll(dst, "_incoming/")).files).toEqual([]);
  });

  it("retires the source by renames where a move is one, and by deleting its objects where a move copies every byte", async () => {
    const moves = vi.spyOn(src, "move");
    await runMove(src, dst, spec(roots), plainHooks());
    expect(await live(dst)).toEqual(FILES);
    expect(await live(src)).toEqual({});
    if (src.capabilities.atomicMove) {
      expect(moves).toHaveBeenCalledTimes(3);
      expect(Object.keys(await contents(src, "_retired/m1/orders/"))).toHaveLength(3);
    } else {
      // S3, Azure: a retired copy would be a second server-side copy of the whole collection.
      expect(moves).not.toHaveBeenCalled();
      expect((await listAll(src, "")).files).toEqual([]);
    }
  });

  it("has every copied file durable before the commit (a disk syncs each copy while it is hashed)", async () => {
    const events: string[] = [];
    const sync = dst.sync?.bind(dst);
    const write = dst.write.bind(dst);
    const target = overriding(dst, {
      ...(sync
        ? {
            sync: async (keys: readonly string[]) => {
              await sync(keys);
              events.push(...keys.map((k) => `synced ${k}`));
            },
          }
        : {}),
      write: async (key: string, data: Uint8Array | string, o?: object) => {
        if (key === commitKey(COLLECTION)) events.push("commit");
        return write(key, data, o);
      },
    });
    await runMove(src, target, spec(roots), plainHooks());
    expect(await live(dst)).toEqual(FILES);
    if (!sync) {
      expect(events).toEqual(["commit"]);
      return;
    }
    // Copied without fsync (copyFrom `durable: false`), each file synced before the commit record is written.
    expect(events.slice(0, -1).sort()).toEqual(
      Object.keys(FILES)
        .sort()
        .map((k) => `synced ${k}`),
    );
    expect(events.at(-1)).toBe("commit");
  });

  it("waits for beforeRetire after the switch-over, with the source copy still whole, before it retires it", async () => {
    const order: string[] = [];
    await runMove(src, dst, spec(roots), {
      fenced: (work) => work(),
      afterCommit: async () => {
        order.push("switched");
      },
      beforeRetire: async () => {
        await new Promise((r) => setTimeout(r, 20));
        order.push(`reads end, source holds ${Object.keys(await live(src)).length}`);
      },
    });
    expect(order).toEqual(["switched", `reads end, source holds ${Object.keys(FILES).length}`]);
    expect(await live(src)).toEqual({});
  });

  it("commits a record listing every file with its size and checksum before the switch-over", async () => {
    let seen: CommitRecord | undefined;
    let stored: string | undefined;
    await runMove(
      src,
      dst,
      spec(roots),
      plainHooks(async (r) => {
        seen = r;
        stored = new TextDecoder().decode(await dst.read(commitKey(COLLECTION)));
      }),
    );
    expect(seen?.files.map((f) => [f.path, f.size])).toEqual([
      ["level-0/1.sst", 3],
      ["vectors/part-1.parquet", 10000],
      ["vectors/part-2.parquet", 600],
    ]);
    for (const f of seen?.files ?? [])
      expect(f).toEqual({ path: f.path, size: f.size, ...expectedChecksum(f.path, f) });
    // Server checksums (no byte read back) exactly where both sides compute one and can copy.
    const byServer = backend.kind === "s3" || backend.kind === "gcs";
    expect(seen?.files.map((f) => f.checksum !== undefined)).toEqual([byServer, byServer, byServer]);
    expect(JSON.parse(stored as string)).toEqual(seen);
  });

  it("copies files written and drops files deleted while it pre-copied", async () => {
    await runMove(src, dst, spec(roots), {
      ...plainHooks(),
      beforeFinalPass: async () => {
        await src.write("orders/vectors/part-3.parquet", "new");
        await src.delete("orders/level-0/1.sst");
      },
    });
    const { "orders/level-0/1.sst": _gone, ...rest } = FILES;
    expect(await live(dst)).toEqual({ ...rest, "orders/vectors/part-3.parquet": "new" });
  });

  it("skips a file the source deletes between its listing and its copy", async () => {
    let deleted = false;
    const vanishing = overriding(src, {
      readStream: (key: string, range?: ReadRange) => {
        if (key === "orders/level-0/1.sst" && !deleted) {
          deleted = true;
          return (async function* () {
            await src.delete(key);
            yield* src.readStream(key, range);
          })();
        }
        return src.readStream(key, range);
      },
    });
    await runMove(vanishing, dst, spec(roots), plainHooks());
    expect(deleted).toBe(true);
    const { "orders/level-0/1.sst": _gone, ...rest } = FILES;
    expect(await live(dst)).toEqual(rest);
  });

  it("refuses a destination that already holds the collection and changes nothing", async () => {
    await roots.write(roots.urls[1] as string, { "orders/vectors/other.parquet": "x" });
    const err = await runMove(src, dst, spec(roots), plainHooks()).catch((e) => e);
    expect(err).toBeInstanceOf(MoveError);
    expect(err.kind).toBe("Conflict");
    expect(await live(src)).toEqual(FILES);
    expect(await live(dst)).toEqual({ "orders/vectors/other.parquet": "x" });
  });

  it("rolls back and keeps the source live when a hook fails before the commit", async () => {
    const failing: MoveHooks = {
      ...plainHooks(),
      beforeFinalPass: async () => {
        throw new Error("engine refused");
      },
    };
    await expect(runMove(src, dst, spec(roots), failing)).rejects.toThrow("engine refused");
    expect(await live(src)).toEqual(FILES);
    expect((await listAll(dst, "")).files).toEqual([]);
  });

  it("copies each file once, straight into place: the destination moves nothing after the commit", async () => {
    const moves = vi.spyOn(dst, "move");
    let during: string[] | undefined;
    await runMove(
      src,
      dst,
      spec(roots),
      plainHooks(async () => {
        during = Object.keys(await live(dst)).sort();
      }),
    );
    expect(moves).not.toHaveBeenCalled();
    // Live at the switch-over with every file in `orders/` already.
    expect(during).toEqual(Object.keys(FILES).sort());
    expect(await live(dst)).toEqual(FILES);
  });

  it("stays committed when it dies between deleting the move marker and the commit record", async () => {
    const marker = "_incoming/orders/_move.json";
    let markerGone = false;
    const dying = overriding(dst, {
      delete: async (key: string, o?: object) => {
        if (key === commitKey(COLLECTION) && (await dst.exists(key))) {
          markerGone = !(await dst.exists(marker));
          return new Promise<void>(() => undefined); // the process dies here
        }
        return dst.delete(key, o);
      },
    });
    void runMove(src, dying, spec(roots), plainHooks());
    await until(
      async () => (await listAll(src, "orders/")).files.length === 0 && !(await dst.exists(marker)),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(markerGone).toBe(true);
    const restarted = new Map(roots.urls.map((u) => [u, backend.openFileSystem(u)] as const));
    const recovery = await recoverMoves({ roots: restarted });
    const [s, d] = roots.urls.map((u) => restarted.get(u) as FileSystem) as [FileSystem, FileSystem];
    expect(recovery.rolledBack).toEqual([]);
    expect(await live(d)).toEqual(FILES);
    expect(await live(s)).toEqual({});
    expect((await listAll(d, "_incoming/")).files).toEqual([]);
  });

  for (const [i, crashAt] of STEPS.entries()) {
    it(`leaves exactly one live copy after a crash at step ${i + 1} (${crashAt}) and recovery`, async () => {
      const committed = STEPS.indexOf(crashAt) >= STEPS.indexOf("committed");
      // The process "dies" at the step: it never goes on, and no clean-up of its own runs.
      void runMove(src, dst, spec(roots), plainHooks(), {
        onStep: (s) => (s === crashAt ? new Promise<void>(() => undefined) : undefined),
      });
      await until(async () => reached(crashAt, src, dst));
      const reassigned: string[] = [];
      const restarted = new Map(roots.urls.map((u) => [u, backend.openFileSystem(u)] as const));
      const recovery = await recoverMoves({
        roots: restarted,
        reassign: async (r) => {
          reassigned.push(`${r.from}->${r.to}`);
        },
      });
      const [s, d] = roots.urls.map((u) => restarted.get(u) as FileSystem) as [FileSystem, FileSystem];
      expect(await live(committed ? d : s)).toEqual(FILES);
      expect(await live(committed ? s : d)).toEqual({});
      for (const fs of [s, d]) {
        expect((await listAll(fs, "_incoming/")).files).toEqual([]);
        expect((await listAll(fs, "_retired/")).files).toEqual([]);
      }
      expect(recovery.pending).toEqual([]);
      if (crashAt !== "finished")
        expect(reassigned).toEqual(committed ? [`${roots.urls[0]}->${roots.urls[1]}`] : []);
    });
  }
});

/** True once the move has got to `step` (as far as the storage shows). */
async function reached(step: string, src: FileSystem, dst: FileSystem): Promise<boolean> {
  const incoming = (await listAll(dst, "_incoming/orders/")).files.map((f) => f.key);
  const copied = (await listAll(dst, "orders/")).files.filter((f) => !f.key.includes("/.")).length;
  const left = (await listAll(src, "orders/")).files.length;
  const hasCommit = incoming.includes("_incoming/orders/_commit.json");
  const hasMarker = incoming.includes("_incoming/orders/_move.json");
  switch (step) {
    case "pass-1":
    case "fenced":
    case "final-pass":
      return hasMarker && copied === 3 && !hasCommit;
    case "committed":
      return hasCommit;
    case "promoted":
    case "switched":
      return hasCommit && copied === 3;
    case "retired":
      return hasCommit && copied === 3 && left === 0;
    default:
      return !hasCommit && !hasMarker && copied === 3 && left === 0;
  }
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await cond()) {
      // Let the move settle into its pause at the step.
      await new Promise((r) => setTimeout(r, 20));
      return;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("the move never reached the step");
}

describe("a move between backends (file:// → s3:// and back)", () => {
  const local = useBackend("local");
  const s3 = useBackend("s3");

  /** The collection on a fresh local root (`fa`), an empty s3rver root (`fb`), and the move between them. */
  async function localToS3() {
    const [fa] = (await local.roots("viper", 1)).fileSystems() as [FileSystem];
    const [fb] = (await s3.roots("viper", 1)).fileSystems() as [FileSystem];
    for (const [key, text] of Object.entries(FILES)) await fa.write(key, text);
    const there = {
      id: "m1",
      collection: COLLECTION,
      component: "viper" as const,
      from: fa.root.url,
      to: fb.root.url,
    };
    return { fa, fb, there };
  }

  it("moves a collection from local disk to s3rver and back with identical bytes", async () => {
    const { fa, fb, there } = await localToS3();
    const record = await runMove(fa, fb, there, plainHooks());
    // Streamed into S3: checked against the MD5 s3rver computed of what it stored, not read back.
    for (const f of record.files)
      expect(f).toEqual({ path: f.path, size: f.size, ...expectedChecksum(f.path, f) });
    expect(record.files.every((f) => f.checksum?.algorithm === "md5")).toBe(true);
    expect(await live(fb)).toEqual(FILES);
    expect(await live(fa)).toEqual({});
    await runMove(fb, fa, { ...there, id: "m2", from: fb.root.url, to: fa.root.url }, plainHooks());
    expect(await live(fa)).toEqual(FILES);
    expect(await live(fb)).toEqual({});
  });

  it("fails a streamed copy into S3 whose stored bytes differ from the source's (by the server's MD5)", async () => {
    const { fa, fb, there } = await localToS3();
    let readBack = 0;
    const corrupting = overriding(fb, {
      writeStream: async (key: string, source: AsyncIterable<Uint8Array>, o: object) =>
        fb.writeStream(key, flipFirstByte(source), o),
      readStream: (...args: Parameters<FileSystem["readStream"]>) => {
        readBack++;
        return fb.readStream(...args);
      },
    });
    await expectVerifyFailed(runMove(fa, corrupting, there, plainHooks()), fa, fb);
    expect(readBack).toBe(0);
  });
});

/** Two fresh roots of `backend`, the collection's {@link FILES} on the first. */
async function collectionOnTwoRoots(backend: ReturnType<typeof useBackend>) {
  const roots = await backend.roots("viper", 2);
  await roots.write(roots.urls[0] as string, FILES);
  const [src, dst] = roots.fileSystems() as [FileSystem, FileSystem];
  return { roots, src, dst };
}

describe("verification", () => {
  const memory = useBackend("memory");
  const local = useBackend("local");

  it("fails a copy whose destination serves other bytes, leaving the source live and no copy", async () => {
    const { roots, src, dst } = await collectionOnTwoRoots(memory);
    // A destination that flips a byte of what it stores (a bad disk, a broken proxy).
    const corrupting = overriding(dst, {
      copyFrom: undefined, // the streamed path
      writeStream: async (key: string, source: AsyncIterable<Uint8Array>, o: object) =>
        dst.writeStream(key, flipFirstByte(source), o),
    });
    await expectVerifyFailed(runMove(src, corrupting, spec(roots), plainHooks()), src, dst);
  });

  it("fails when the destination serves other bytes than the source after copyFrom", async () => {
    const { roots, src, dst } = await collectionOnTwoRoots(local);
    expect(dst.capabilities.serverSideCopy).toBe(true);
    let copied = 0;
    const flipping = overriding(dst, {
      copyFrom: async (s: FileSystem, k: string, to: string) => {
        copied++;
        return (dst.copyFrom as NonNullable<FileSystem["copyFrom"]>).call(dst, s, k, to);
      },
      readStream: (key: string) => flipFirstByte(dst.readStream(key)),
    });
    await expectVerifyFailed(runMove(src, flipping, spec(roots), plainHooks()), src, dst);
    expect(copied).toBeGreaterThan(0);
  });
});

describe("Throttle", () => {
  it("lets bytes pass at the configured rate", async () => {
    let now = 0;
    const throttle = new Throttle(1000, {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    for (let i = 0; i < 10; i++) await throttle.take(500);
    // 5000 bytes at 1000 B/s with a 1000-byte burst: at least 4 s of (fake) time.
    expect(now).toBeGreaterThanOrEqual(4000);
    expect(now).toBeLessThan(4100);
  });

  it("never waits without a limit", async () => {
    const throttle = new Throttle(undefined, {
      now: () => 0,
      sleep: async () => {
        throw new Error("slept");
      },
    });
    await throttle.take(1e12);
  });

  it("refuses a negative rate", () => {
    expect(() => new Throttle(-1)).toThrow(/non-negative/);
  });
});

/** The move fails `VerifyFailed`, the source stays live and the destination holds nothing. */
async function expectVerifyFailed(move: Promise<unknown>, src: FileSystem, dst: FileSystem): Promise<void> {
  const err = await move.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MoveError);
  expect((err as MoveError).kind).toBe("VerifyFailed");
  expect(await live(src)).toEqual(FILES);
  expect((await listAll(dst, "")).files).toEqual([]);
}

/** Each chunk of `source` with its first byte flipped (a bad disk, a broken proxy). */
async function* flipFirstByte(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const c of source) {
    const copy = Uint8Array.from(c);
    copy[0] = (copy[0] as number) ^ 1;
    yield copy;
  }
}

describe("a server-side move on S3", () => {
  const s3 = useBackend("s3");

  it("verifies each copy by the listing's ETag and the CopyObject response: no HEAD of a copy or of a source", async () => {
    const { roots, src, dst } = await collectionOnTwoRoots(s3);
    const stats = [vi.spyOn(src, "stat"), vi.spyOn(dst, "stat")];
    let upToCommit: string[][] = [];
    const record = await runMove(
      src,
      dst,
      spec(roots),
      plainHooks(async () => {
        upToCommit = stats.map((st) =>
          st.mock.calls.map((c) => c[0] as string).filter((k) => k.startsWith("orders/")),
        );
      }),
    );
    const [ofSource, ofCopy] = upToCommit;
    // The listing's entry gives CopyObject the size and the ETag it copies on condition: no HEAD.
    expect(ofSource).toEqual([]);
    expect(ofCopy).toEqual([]);
    expect(record.files.every((f) => f.checksum?.algorithm === "md5")).toBe(true);
    expect(await live(dst)).toEqual(FILES);
  });
});

describeOnBackends("server-side copy between two roots", ["s3", "azure", "gcs"], (backend) => {
  it("copies every file on the server (nothing streamed through the node) and verifies it", async () => {
    const roots = await backend.roots("viper", 2);
    await roots.write(roots.urls[0] as string, FILES);
    const [src, dst] = roots.fileSystems() as [FileSystem, FileSystem];
    let streamed = 0;
    const counting = overriding(dst, {
      writeStream: (...args: Parameters<FileSystem["writeStream"]>) => {
        streamed++;
        return dst.writeStream(...args);
      },
    });
    const reads = [vi.spyOn(src, "readStream"), vi.spyOn(dst, "readStream")];
    expect(dst.capabilities.serverSideCopy).toBe(true);
    const record = await runMove(src, counting, spec(roots), plainHooks());
    expect(streamed).toBe(0);
    // Where both servers compute a checksum of their own copy, verification reads no byte back;
    // otherwise (Azure) each file is read once on each side.
    const readBack = reads.flatMap((r) => r.mock.calls.map((c) => c[0] as string));
    const paths = Object.keys(FILES).map((k) => k.slice("orders/".length));
    const bothSides = [...paths, ...paths].map((p) => `orders/${p}`);
    expect(readBack.filter((k) => !k.endsWith("_commit.json")).sort()).toEqual(
      backend.kind === "azure" ? bothSides.sort() : [],
    );
    for (const f of record.files) expect(f).toMatchObject(expectedChecksum(f.path, f));
    expect(await live(dst)).toEqual(FILES);
    expect(await live(src)).toEqual({});
  });
});
