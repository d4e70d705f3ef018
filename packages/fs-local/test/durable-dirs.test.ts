import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFileSystem } from "@proximadb/fs-local";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recordingPromises } from "./fs-spy.js";

/**
 * Directory durability, checked by the syscalls: a power cut cannot be staged here, so the test wraps
 * `node:fs` and records every fsync (of files and folders), mkdir, rmdir and unlink, in order.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pdb-fs-local-durable-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recordingFs() {
  const calls: string[] = [];
  const rel = (p: unknown) => String(p).slice(dir.length) || "/";
  const module = recordingPromises(calls, rel, (prop, real, target) =>
    prop === "mkdir" || prop === "rmdir" || prop === "unlink" || prop === "rm"
      ? async (path: unknown, ...rest: unknown[]) => {
          const out = await real.call(target, path, ...rest);
          calls.push(`${prop} ${rel(path)}`);
          return out;
        }
      : undefined,
  );
  const fs = new LocalFileSystem(dir, { fs: module });
  const fsyncs = () =>
    calls.filter((c) => c.startsWith("fsync ") && !c.includes(".tmp-")).map((c) => c.slice(6));
  return { fs, calls, fsyncs, reset: () => calls.splice(0) };
}

/**
 * {@link recordingFs} already holding `keys` (written with `options`), its record cleared: what it records
 * next is the operation under test alone.
 */
async function recordingFsHolding(keys: readonly string[], options: { durable?: boolean } = {}) {
  const recording = recordingFs();
  for (const key of keys) await recording.fs.write(key, "x", options);
  recording.reset();
  return recording;
}

describe("fs-local makes the folders it creates durable (mkdir -p) when durability is asked", () => {
  it("a durable write fsyncs every folder it created and the parent of the first one", async () => {
    const { fs, fsyncs } = recordingFs();
    await fs.write("coll/vectors/part-1.parquet", "x", { durable: true });
    // The file's own folder (its entry), then each created folder's parent (their entries), deepest first.
    expect(fsyncs()).toEqual(["/coll/vectors", "/coll", "/"]);
  });

  it("a durable write into folders that exist fsyncs only the file's folder", async () => {
    const { fs, fsyncs } = await recordingFsHolding(["coll/vectors/part-1.parquet"], { durable: true });
    await fs.write("coll/vectors/part-2.parquet", "x", { durable: true });
    expect(fsyncs()).toEqual(["/coll/vectors"]);
  });

  it("a durable write fsyncs folders an earlier write created without durability", async () => {
    const { fs, fsyncs, reset } = recordingFs();
    await fs.write("coll/_staging/node-a/scratch", "x");
    expect(fsyncs()).toEqual([]);
    reset();
    await fs.write("coll/_staging/node-a/part", "x", { durable: true });
    expect(fsyncs()).toEqual(["/coll/_staging/node-a", "/coll/_staging", "/coll", "/"]);
  });

  it("a new append file's first sync fsyncs the folders created for it (a collection's first WAL segment)", async () => {
    const { fs, fsyncs } = recordingFs();
    const h = await fs.openAppend("orders/wal-00000000000000000001.bincode");
    await h.write(Buffer.from("r1"));
    await h.sync();
    await h.close();
    expect(fsyncs()).toEqual(["/orders/wal-00000000000000000001.bincode", "/orders", "/"]);
  });

  it("a move fsyncs the folders it created for the target", async () => {
    const { fs, fsyncs } = await recordingFsHolding(["coll/_staging/f", "coll/keep"], { durable: true });
    await fs.move("coll/_staging/f", "coll/level-0/deep/f");
    expect(fsyncs()).toEqual(["/coll/level-0/deep", "/coll/_staging", "/coll/level-0", "/coll"]);
  });
});

describe("fs-local makes deletes durable when asked: the folder that lost the entry is fsynced after it", () => {
  it("a durable delete fsyncs the file's folder after the unlink", async () => {
    const { fs, calls } = await recordingFsHolding(["c/a", "c/b"]);
    await fs.delete("c/a", { durable: true });
    expect(calls).toEqual(["unlink /c/a", "fsync /c"]);
  });

  it("a durable delete that prunes emptied folders fsyncs the first folder left, after the last rmdir", async () => {
    const { fs, calls } = await recordingFsHolding(["keep", "c/d/e/f"]);
    await fs.delete("c/d/e/f", { durable: true });
    expect(calls).toEqual(["unlink /c/d/e/f", "rmdir /c/d/e", "rmdir /c/d", "rmdir /c", "fsync /"]);
  });

  it("a delete without durable fsyncs nothing", async () => {
    const { fs, fsyncs } = await recordingFsHolding(["c/a"]);
    await fs.delete("c/a");
    await fs.deleteMany(["c/b"]);
    expect(fsyncs()).toEqual([]);
  });

  it("a durable deleteMany fsyncs each folder that lost an entry once, after every unlink", async () => {
    const keys = ["c/x/1", "c/x/2", "c/x/keep", "c/y/1", "c/y/keep", "c/z/only"];
    const { fs, calls, fsyncs } = await recordingFsHolding(keys);
    await fs.deleteMany(["c/x/1", "c/x/2", "c/y/1", "c/z/only"], { durable: true });
    expect([...fsyncs()].sort()).toEqual(["/c", "/c/x", "/c/y"]);
    const lastUnlink = Math.max(
      ...calls.map((c, i) => (c.startsWith("unlink") || c.startsWith("rmdir") ? i : -1)),
    );
    const firstFsync = calls.findIndex((c) => c.startsWith("fsync"));
    expect(firstFsync).toBeGreaterThan(lastUnlink);
  });

  it("a durable deletePrefix fsyncs the folder the removed tree lived in, after removing it", async () => {
    const { fs, calls } = await recordingFsHolding(["other/x", "coll/vectors/a", "coll/wal-1.avro"]);
    await fs.deletePrefix("coll/", { durable: true });
    expect(calls.slice(-2)).toEqual(["rm /coll", "fsync /"]);
  });

  it("a move fsyncs the parent of the source folder it emptied and pruned", async () => {
    const { fs, calls } = await recordingFsHolding(["coll/live/a", "coll/_staging/n/f"], { durable: true });
    await fs.move("coll/_staging/n/f", "coll/live/f");
    expect(calls.slice(-3)).toEqual(["rmdir /coll/_staging/n", "rmdir /coll/_staging", "fsync /coll"]);
  });
});
