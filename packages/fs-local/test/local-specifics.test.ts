import * as nodeFs from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { listAll } from "@proximadb/core";
import { LocalFileSystem, localFileSystemProvider } from "@proximadb/fs-local";
import { expectFsError } from "@proximadb/testing/conformance";
import { describe, expect, it } from "vitest";
import { recordingPromises } from "./fs-spy.js";
import { tempDirPerTest } from "./temp-dir.js";

const dir = tempDirPerTest("pdb-fs-local-spec-");

/**
 * A LocalFileSystem in this test's folder over node:fs with its promise API wrapped: records open/sync/rename
 * calls, and lets a test override any call.
 */
function spyFs(overrides: Record<string, (...args: unknown[]) => unknown> = {}) {
  const calls: string[] = [];
  const rel = (p: unknown) => String(p).slice(dir().length) || "/";
  const module = recordingPromises(calls, rel, (prop, real, target) => {
    if (overrides[prop]) return overrides[prop];
    if (prop === "rename" || prop === "link")
      return async (a: unknown, b: unknown) => {
        calls.push(`${prop} ${rel(a).replace(/tmp-[0-9a-f]+$/, "tmp-*")} -> ${rel(b)}`);
        return real.call(target, a, b);
      };
    return undefined;
  });
  return { fs: new LocalFileSystem(dir(), { fs: module }), calls };
}

describe("durability", () => {
  it.each([
    {
      name: "a durable write fsyncs the temp file before the rename and the folder after it (and the root: coll/ is new)",
      key: "coll/seg.wal",
      options: { durable: true },
      calls: [
        "fsync /coll/.seg.wal.tmp-*",
        "rename /coll/.seg.wal.tmp-* -> /coll/seg.wal",
        "fsync /coll",
        "fsync /",
      ],
    },
    {
      name: "a durable exclusive create fsyncs the file, links it in place and fsyncs the folder",
      key: "lock",
      options: { durable: true, exclusive: true },
      calls: ["fsync /.lock.tmp-*", "link /.lock.tmp-* -> /lock", "fsync /"],
    },
  ])("$name", async ({ key, options, calls: expected }) => {
    const { fs, calls } = spyFs();
    await fs.write(key, "abc", options);
    expect(calls.map((c) => c.replace(/tmp-[0-9a-f]+/, "tmp-*"))).toEqual(expected);
  });

  it("a write without durable: true calls no fsync", async () => {
    const { fs, calls } = spyFs();
    await fs.write("a/b", "x");
    expect(calls.filter((c) => c.startsWith("fsync"))).toEqual([]);
  });

  it("move fsyncs the target folder and, when different, the source folder", async () => {
    const { fs, calls } = spyFs();
    await fs.write("c/_staging/f", "x");
    await fs.write("c/keep", "x");
    calls.length = 0;
    await fs.move("c/_staging/f", "c/live/f");
    // Then /c once (it holds the new live/ folder and lost the emptied _staging/ folder), and the root:
    // the writes above created c/ without durability.
    expect(calls).toEqual([
      "rename /c/_staging/f -> /c/live/f",
      "fsync /c/live",
      "fsync /c/_staging",
      "fsync /c",
      "fsync /",
    ]);
  });

  it("an append handle's sync fsyncs the file, and the folder (and the new folder's parent) the first time after creating it", async () => {
    const { fs, calls } = spyFs();
    const h = await fs.openAppend("wal/seg-1");
    await h.write(Buffer.from("r1"));
    await h.sync();
    await h.write(Buffer.from("r2"));
    await h.sync();
    await h.close();
    expect(calls).toEqual(["fsync /wal/seg-1", "fsync /wal", "fsync /", "fsync /wal/seg-1"]);
  });
});

describe("refusals and error kinds", () => {
  it("refuses a rename across devices (EXDEV) with Unsupported, leaving the source in place", async () => {
    const exdev = async () => {
      throw Object.assign(new Error("EXDEV: cross-device link not permitted"), { code: "EXDEV" });
    };
    const { fs } = spyFs({ rename: exdev });
    await new LocalFileSystem(dir()).write("a/src", "bytes");
    const err = await expectFsError(fs.move("a/src", "b/dst"), "Unsupported");
    expect(err.status).toBe("EXDEV");
    expect(err.retryable).toBe(false);
    expect(await new LocalFileSystem(dir()).exists("a/src")).toBe(true);
  });

  it.each([
    ["EACCES", "PermissionDenied", false],
    ["EPERM", "PermissionDenied", false],
    ["EMFILE", "Transient", true],
    ["EBUSY", "Transient", true],
    ["ENOSPC", "NoSpace", false],
    ["EDQUOT", "NoSpace", false],
    ["EIO", "Unknown", false],
  ] as const)("maps %s to %s (retryable %s)", async (code, kind, retryable) => {
    const fail = async () => {
      throw Object.assign(new Error(code), { code });
    };
    const { fs } = spyFs({ open: fail });
    const err = await expectFsError(fs.write("k", "x"), kind);
    expect(err.retryable).toBe(retryable);
    expect(err.key).toBe("k");
    expect(err.root).toBe(fs.root.url);
    expect(err.status).toBe(code);
  });

  it("reports NotFound when a key's parent is a file, and Unsupported when writing a key that is a folder", async () => {
    const fs = new LocalFileSystem(dir());
    await fs.write("a/file", "x");
    await expectFsError(fs.read("a/file/child"), "NotFound");
    await expectFsError(fs.stat("a"), "NotFound");
    await expectFsError(fs.write("a", "x"), "Unsupported");
  });
});

describe("atomic writes", () => {
  it("a reader never sees a partial file while a large write is in progress", async () => {
    const fs = new LocalFileSystem(dir());
    const key = "c/seg.bin";
    const seen: number[] = [];
    let done = false;
    async function* source() {
      for (let i = 0; i < 16; i++) {
        // Between chunks, look at the target: it must be absent, never half-written.
        seen.push((await fs.exists(key)) ? (await fs.stat(key)).size : -1);
        yield Buffer.alloc(256 * 1024, i);
      }
      done = true;
    }
    await fs.writeStream(key, source());
    expect(done).toBe(true);
    expect(seen.every((s) => s === -1)).toBe(true);
    expect((await fs.stat(key)).size).toBe(16 * 256 * 1024);
  });

  it("a failed write leaves neither the target nor its temp file behind", async () => {
    const fs = new LocalFileSystem(dir());
    async function* failing() {
      yield Buffer.from("partial");
      throw new Error("source broke");
    }
    await expect(fs.writeStream("c/x.bin", failing())).rejects.toThrow("source broke");
    expect(await readdir(join(dir(), "c")).catch(() => [])).toEqual([]);
  });

  it("lists the hidden temp file of an in-progress write (discovery decides what is reserved)", async () => {
    const fs = new LocalFileSystem(dir());
    let listed: string[] = [];
    async function* source() {
      yield Buffer.from("a");
      listed = (await listAll(fs, "c/")).files.map((f) => f.key);
      yield Buffer.from("b");
    }
    await fs.writeStream("c/x.bin", source());
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatch(/^c\/\.x\.bin\.tmp-[0-9a-f]+$/);
  });
});

describe("root, provider and folders", () => {
  it("probe() reports a missing root as missing and does not create it", async () => {
    const fs = new LocalFileSystem(join(dir(), "not-yet"));
    expect(await fs.probe()).toEqual({ exists: false });
    await expect(stat(join(dir(), "not-yet"))).rejects.toMatchObject({ code: "ENOENT" });
    await fs.write("k", "x");
    expect(await fs.probe()).toEqual({ exists: true });
  });

  it("the provider opens file:// roots", () => {
    expect(localFileSystemProvider.schemes).toEqual(["file"]);
    const fs = localFileSystemProvider.open({
      url: `file://${dir()}`,
      scheme: "file",
      path: dir(),
      prefix: "",
    });
    expect(fs.root.url).toBe(`file://${dir()}`);
    expect(fs.capabilities).toMatchObject({
      atomicMove: true,
      conditionalCreate: true,
      append: true,
      fsync: true,
      delimiterList: false,
      remote: false,
    });
  });

  it("removes folders emptied by delete and move, up to the root", async () => {
    const fs = new LocalFileSystem(dir());
    await fs.write("coll/_staging/a/b", "x");
    await fs.move("coll/_staging/a/b", "coll/live");
    expect(await readdir(join(dir(), "coll"))).toEqual(["live"]);
    await fs.delete("coll/live");
    expect(await readdir(dir())).toEqual([]);
  });
});

describe("concurrent moves and deletes that empty folders", () => {
  it("moves two files out of one folder at once: neither trips over the other's pruning", async () => {
    const fs = new LocalFileSystem(`file://${dir()}`);
    for (let i = 0; i < 100; i++) {
      await fs.write(`c/_staging/a-${i}`, "a");
      await fs.write(`c/_staging/b-${i}`, "b");
      await Promise.all([
        fs.move(`c/_staging/a-${i}`, `c/level-0/a-${i}`),
        fs.move(`c/_staging/b-${i}`, `c/level-1/b-${i}`),
      ]);
    }
    const { files } = await listAll(fs, "c/");
    expect(files.length).toBe(200);
  });

  it("moves into a folder while a delete empties and prunes that same folder", async () => {
    const fs = new LocalFileSystem(`file://${dir()}`);
    for (let i = 0; i < 100; i++) {
      await fs.write(`c/level-0/old-${i}`, "old");
      await fs.write(`c/_staging/new-${i}`, "new");
      await Promise.all([
        fs.delete(`c/level-0/old-${i}`),
        fs.move(`c/_staging/new-${i}`, `c/level-0/new-${i}`),
      ]);
      expect(await fs.exists(`c/level-0/new-${i}`)).toBe(true);
    }
  });
});

describe("LocalFileSystem.copyFrom (kernel copy between local roots)", () => {
  it("copies a file of another root with its bytes, leaving the source, and declines other modules", async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join: joinPath } = await import("node:path");
    const base = await mkdtemp(joinPath(tmpdir(), "pdb-copyfrom-"));
    const a = new LocalFileSystem(joinPath(base, "a"));
    const b = new LocalFileSystem(joinPath(base, "b"));
    await a.write("c/one.bin", "bytes");
    expect(await b.copyFrom(a, "c/one.bin", "_incoming/c/one.bin")).toBe(true);
    expect(new TextDecoder().decode(await b.read("_incoming/c/one.bin"))).toBe("bytes");
    expect(await a.exists("c/one.bin")).toBe(true);
    expect((await readdir(joinPath(base, "b", "_incoming", "c"))).filter((n) => n.startsWith("."))).toEqual(
      [],
    );
    // Same folder, another module instance (as memfs would be): not the same disk world.
    const other = new LocalFileSystem(joinPath(base, "a"), { fs: { promises: { ...nodeFs.promises } } });
    expect(await b.copyFrom(other, "c/one.bin", "c/two.bin")).toBe(false);
    await expect(b.copyFrom(a, "c/missing.bin", "c/three.bin")).rejects.toMatchObject({ kind: "NotFound" });
    expect(await b.exists("c/three.bin")).toBe(false);
  });
});
