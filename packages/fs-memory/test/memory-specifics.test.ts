import { FsError, InvalidArgumentError, InvalidStorageUrlError, listAll } from "@proximadb/core";
import {
  MemoryFileSystem,
  Volume,
  createMemoryRoots,
  memoryFileSystemProvider,
  sharedMemoryVolume,
} from "@proximadb/fs-memory";
import { describe, expect, it } from "vitest";

describe("MemoryFileSystem", () => {
  it("two instances on the same mem:// URL share the process-wide volume by default", async () => {
    const a = new MemoryFileSystem("mem://shared-spec");
    const b = new MemoryFileSystem("mem://shared-spec/");
    await a.write("coll/x", "hello");
    expect(Buffer.from(await b.read("coll/x")).toString()).toBe("hello");
    expect(a.volume).toBe(sharedMemoryVolume());
    await a.deletePrefix("coll/");
  });

  it("instances on different volumes do not see each other's files", async () => {
    const a = new MemoryFileSystem("mem://iso", { volume: new Volume() });
    const b = new MemoryFileSystem("mem://iso", { volume: new Volume() });
    await a.write("k", "x");
    expect(await b.exists("k")).toBe(false);
  });

  it("probe() reports a root that was never written as missing, without creating it", async () => {
    const volume = new Volume();
    const fs = new MemoryFileSystem("mem://fresh", { volume });
    expect(await fs.probe()).toEqual({ exists: false });
    expect(volume.existsSync("/fresh")).toBe(false);
  });

  it("refuses roots that are not mem:// with InvalidStorageUrlError, in the harness too", () => {
    expect(() => new MemoryFileSystem("file:///tmp/x")).toThrow(InvalidStorageUrlError);
    expect(() => createMemoryRoots({ "s3://bucket/p": {} })).toThrow(InvalidStorageUrlError);
  });

  it("reports fsync as not provided (nothing outlives the process) and the rest like the local adapter", () => {
    expect(new MemoryFileSystem("mem://caps").capabilities).toMatchObject({
      fsync: false,
      atomicMove: true,
      conditionalCreate: true,
      append: true,
    });
  });

  it("the provider opens mem:// roots on the given volume", async () => {
    const volume = new Volume();
    const provider = memoryFileSystemProvider(volume);
    expect(provider.schemes).toEqual(["mem"]);
    await provider.open({ url: "mem://p", scheme: "mem", path: "/p", prefix: "" }).write("k", "v");
    expect(volume.readFileSync("/p/k", "utf8")).toBe("v");
  });
});

describe("createMemoryRoots (memfs harness)", () => {
  it("creates every root of the tree, even an empty one, with its files", async () => {
    const h = createMemoryRoots({
      "mem://disk1": {
        "_proximadb_root.json": '{"id":"a"}',
        "orders/000001.avro": "x",
        "orders/level-0/1.sst": new Uint8Array([1, 2]),
      },
      "mem://disk2/": {},
    });
    expect(h.roots.map((r) => r.url)).toEqual(["mem://disk1", "mem://disk2"]);
    expect([...h.fileSystems.keys()]).toEqual(["mem://disk1", "mem://disk2"]);
    expect(await h.fs("mem://disk2").probe()).toEqual({ exists: true });
    expect((await listAll(h.fs("mem://disk2"), "")).files).toEqual([]);
    const files = await listAll(h.fs("mem://disk1/"), "");
    expect(files.files.map((f) => [f.key, f.size])).toEqual([
      ["_proximadb_root.json", 10],
      ["orders/000001.avro", 1],
      ["orders/level-0/1.sst", 2],
    ]);
  });

  it("sets mtimes given in the tree", async () => {
    const h = createMemoryRoots({ "mem://m": { old: { data: "x", mtimeMs: 1_600_000_000_000 } } });
    expect((await h.fs("mem://m").stat("old")).mtimeMs).toBe(1_600_000_000_000);
  });

  it("uses a fresh volume unless one is given, and the given one when it is", () => {
    const a = createMemoryRoots({ "mem://v": { k: "1" } });
    const b = createMemoryRoots({ "mem://v": {} });
    expect(a.volume).not.toBe(b.volume);
    const volume = new Volume();
    expect(createMemoryRoots({ "mem://v": {} }, { volume }).volume).toBe(volume);
  });

  it("refuses a root outside the tree and invalid keys in it", () => {
    const h = createMemoryRoots({ "mem://a": {} });
    expect(() => h.fs("mem://b")).toThrow(InvalidArgumentError);
    let err: unknown;
    try {
      createMemoryRoots({ "mem://a": { "../escape": "x" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).kind).toBe("InvalidKey");
  });
});
