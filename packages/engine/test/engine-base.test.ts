import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import {
  AssignmentService,
  ClosedError,
  type FileSystem,
  InvalidArgumentError,
  InvalidCollectionIdError,
  ROOT_MARKER_FILE,
  type StorageRoot,
} from "@proximadb/core";
import { discover } from "@proximadb/discovery";
import { describeOnBackends, rootsPerTest, useBackend } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { EngineBase, type EngineBaseOptions, heartbeatKey, isEngineError } from "../src/index.js";
import { HOUR, openViperBase, writeData } from "./helpers.js";

describeOnBackends("EngineBase", ["memory", "local"], (backend) => {
  const env = rootsPerTest<EngineBase>(backend, "disk", 2);
  const open = (extra: Partial<EngineBaseOptions> = {}) => openViperBase(env, extra);

  it("places new collections round-robin across the roots and writes each root's marker on first use", async () => {
    const engine = await open();
    const a = await engine.place("alpha");
    const b = await engine.place("beta");
    expect([a.url, b.url]).toEqual(env.tier.urls);
    expect([a.index, b.index]).toEqual([0, 1]);
    expect(a.dir).toBe("alpha/");
    expect(engine.locate("alpha")?.url).toBe(a.url);
    expect(engine.locate("gamma")).toBeUndefined();
    expect(engine.collections().sort()).toEqual(["alpha", "beta"]);
    for (const url of env.tier.urls) expect(await env.tier.keys(url)).toContain(ROOT_MARKER_FILE);
  });

  it("gives staging keys <id>/_staging/<nodeId>/<sequence>-<name> in the collection's own root", async () => {
    const engine = await open();
    const dir = await engine.place("orders");
    const s1 = await engine.stage("orders", "part.parquet");
    const s2 = await engine.stage("orders", "part.parquet");
    expect(s1.key).toMatch(/^orders\/_staging\/node-a\/[0-9a-z]{10}-part\.parquet$/);
    expect(s2.key).not.toBe(s1.key);
    expect(s1.url).toBe(dir.url);
    expect(s1.fs).toBe(dir.fs);
    await expect(engine.stage("orders", "../escape")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(engine.stage("orders", "a/b")).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("commits by a move inside the root: the staged file becomes the final file, other roots untouched", async () => {
    const engine = await open();
    const finalKey = await writeData(engine, "orders");
    expect(finalKey).toBe("orders/vectors/part-00000001.parquet");
    const home = engine.locate("orders");
    expect(home?.url).toBe(env.tier.urls[0]);
    // The root holds the marker, this writer's heartbeat (it staged there) and the committed file.
    expect(await env.tier.keys(env.tier.urls[0] as string)).toEqual([
      ROOT_MARKER_FILE,
      heartbeatKey("node-a"),
      finalKey,
    ]);
    expect(await env.tier.keys(env.tier.urls[1] as string)).toEqual([]);
    expect(new TextDecoder().decode(await home?.fs.read(finalKey))).toBe("parquet bytes");
  });

  it("refuses, with a typed error and without moving anything, commits that cross roots or leave the collection", async () => {
    const engine = await open();
    await engine.place("alpha"); // root 0
    await engine.place("beta"); // root 1
    const staged = await engine.stage("alpha", "x.parquet");
    await staged.fs.write(staged.key, "x");

    // Only stage() makes a StagedFile: a copy naming another collection, file system or key is refused.
    const crossing = { ...staged, collection: engine.locate("beta")?.collection as typeof staged.collection };
    await expect(engine.commit(crossing, "x.parquet")).rejects.toSatisfy((e) =>
      isEngineError(e, "ForeignCollection"),
    );
    const otherFs = { ...staged, fs: env.tier.openFileSystem(staged.url) as FileSystem };
    await expect(engine.commit(otherFs, "x.parquet")).rejects.toSatisfy((e) =>
      isEngineError(e, "ForeignCollection"),
    );
    const notStaged = { ...staged, key: "alpha/elsewhere.parquet" };
    await expect(engine.commit(notStaged, "x.parquet")).rejects.toSatisfy((e) =>
      isEngineError(e, "ForeignCollection"),
    );
    expect(() => {
      (staged as { key: string }).key = "alpha/elsewhere.parquet";
    }).toThrow(TypeError);
    for (const bad of [
      "",
      "../beta/x.parquet",
      "/etc/passwd",
      "a//b.parquet",
      "vectors/./x.parquet",
      "dir/",
      "a\0b",
    ]) {
      await expect(engine.commit(staged, bad), bad).rejects.toSatisfy((e) =>
        isEngineError(e, "EscapesCollection"),
      );
    }
    for (const bad of ["_staging/x.parquet", "vectors/_staging/x", ".hidden.parquet"]) {
      await expect(engine.commit(staged, bad), bad).rejects.toSatisfy((e) => isEngineError(e, "IntoStaging"));
    }
    expect(await staged.fs.exists(staged.key)).toBe(true);
    expect(
      (await env.tier.keys(staged.url)).filter(
        (k) => !k.startsWith("alpha/_staging/") && k !== ROOT_MARKER_FILE && k !== heartbeatKey("node-a"),
      ),
    ).toEqual([]);
  });

  it("refuses a staged file of a collection dropped since (NotAssigned) or placed in another root since (CrossRoot)", async () => {
    const engine = await open();
    const staged = await engine.stage("alpha", "x.parquet"); // root 0
    await staged.fs.write(staged.key, "x");
    await engine.drop("alpha");
    await expect(engine.commit(staged, "x.parquet")).rejects.toSatisfy((e) =>
      isEngineError(e, "NotAssigned"),
    );
    await engine.place("beta"); // root 1
    await engine.place("gamma"); // root 0
    await engine.place("alpha"); // root 1 now
    expect(engine.locate("alpha")?.url).not.toBe(staged.url);
    await staged.fs.write(staged.key, "x");
    await expect(engine.commit(staged, "x.parquet")).rejects.toSatisfy((e) => isEngineError(e, "CrossRoot"));
    expect(await staged.fs.exists(staged.key)).toBe(true);
    expect(await staged.fs.exists("alpha/x.parquet")).toBe(false);
  });

  it("refuses a staged file of another engine, and one committed already", async () => {
    const engine = await open();
    const other = await open();
    const staged = await other.stage("orders", "x.parquet");
    await staged.fs.write(staged.key, "x");
    await expect(engine.commit(staged, "x.parquet")).rejects.toSatisfy((e) =>
      isEngineError(e, "ForeignCollection"),
    );
    expect(await other.commit(staged, "x.parquet")).toBe("orders/x.parquet");
    await expect(other.commit(staged, "y.parquet")).rejects.toSatisfy((e) =>
      isEngineError(e, "ForeignCollection"),
    );
  });

  it("commit refuses to overwrite when asked not to, and overwrites by default", async () => {
    const engine = await open();
    await writeData(engine, "orders", "manifest.json");
    const staged = await engine.stage("orders", "m.json");
    await staged.fs.write(staged.key, "v2");
    await expect(engine.commit(staged, "manifest.json", { overwrite: false })).rejects.toMatchObject({
      kind: "AlreadyExists",
    });
    await engine.commit(staged, "manifest.json");
    expect(new TextDecoder().decode(await staged.fs.read("orders/manifest.json"))).toBe("v2");
  });

  it("rejects bad collection ids with a typed error and writes nothing", async () => {
    const engine = await open();
    for (const bad of ["../x", "a/b", "_staging", "", "a\0b", "x".repeat(200)]) {
      await expect(engine.place(bad)).rejects.toBeInstanceOf(InvalidCollectionIdError);
      await expect(engine.stage(bad, "f")).rejects.toBeInstanceOf(InvalidCollectionIdError);
      expect(() => engine.locate(bad)).toThrow(InvalidCollectionIdError);
    }
    for (const url of env.tier.urls) expect(await env.tier.keys(url)).toEqual([]);
  });

  it("cleans stale staging at open: this node's always, another node's only when older than staleStagingMs", async () => {
    const first = await open();
    await writeData(first, "orders");
    const own = await first.stage("orders", "own.parquet");
    await own.fs.write(own.key, "left by a crashed run of node-a");
    const now = Date.now();
    const otherFresh = "orders/_staging/node-b/0000000001-f.parquet";
    const otherOld = "orders/_staging/node-b/0000000002-o.parquet";
    const foreignOld = "orders/_staging/unnamed-leftover";
    const foreignFresh = "orders/_staging/unnamed-fresh";
    for (const k of [otherFresh, otherOld, foreignOld, foreignFresh]) await own.fs.write(k, "x");
    await env.tier.touch(own.url, foreignOld, now - 3 * HOUR);
    await env.tier.touch(own.url, otherOld, now - 2 * HOUR);
    await first.close();

    const second = await open();
    expect([...second.cleanup.removed].sort()).toEqual([foreignOld, own.key, otherOld].sort());
    expect([...second.cleanup.kept].sort()).toEqual([foreignFresh, otherFresh].sort());
    const left = await env.tier.keys(own.url);
    expect(left).toContain(otherFresh);
    expect(left).toContain(foreignFresh);
    expect(left).not.toContain(own.key);
    expect(left).not.toContain(otherOld);
    expect(left).toContain("orders/vectors/part-00000001.parquet");

    // With a shorter threshold, the other node's fresh staging is stale too.
    await second.close();
    const third = await open({ staleStagingMs: 0 });
    expect([...third.cleanup.removed].sort()).toEqual([foreignFresh, otherFresh].sort());
  });

  it("uses a given discovery report instead of listing again", async () => {
    const first = await open();
    await writeData(first, "orders");
    await first.close();
    const fileSystems = env.tier.fileSystems();
    const report = await discover({ component: "viper", roots: fileSystems });
    let lists = 0;
    const counting = (r: StorageRoot): FileSystem => {
      const fs = env.tier.openFileSystem(r);
      const list = fs.list.bind(fs);
      return Object.assign(Object.create(fs) as FileSystem, {
        list: (...args: Parameters<FileSystem["list"]>) => {
          lists++;
          return list(...args);
        },
      });
    };
    const engine = await open({ report, openFileSystem: counting });
    expect(engine.collections()).toEqual(["orders"]);
    expect(lists).toBe(0);
  });

  it("drops a collection's files and its assignment, leaving other collections alone", async () => {
    const engine = await open();
    await writeData(engine, "alpha");
    await writeData(engine, "beta");
    await engine.drop("alpha");
    expect(engine.locate("alpha")).toBeUndefined();
    expect(engine.collections()).toEqual(["beta"]);
    expect((await env.tier.keys(env.tier.urls[0] as string)).filter((k) => k.startsWith("alpha/"))).toEqual(
      [],
    );
    expect(await env.tier.keys(env.tier.urls[1] as string)).toContain("beta/vectors/part-00000001.parquet");
    await engine.drop("never-placed"); // nothing to do
  });

  it("finds its collections again after a restart, in the same roots, and keeps round-robin going", async () => {
    const first = await open();
    await writeData(first, "alpha");
    await writeData(first, "beta");
    await writeData(first, "gamma");
    const before = Object.fromEntries(first.collections().map((c) => [c, first.locate(c)?.url]));
    await first.close();

    const second = await open();
    expect(Object.fromEntries(second.collections().map((c) => [c, second.locate(c)?.url]))).toEqual(before);
    expect((await second.place("delta")).url).toBe(env.tier.urls[1]); // 3 placed on 2 roots: next is root 1
  });

  it("refuses work after close with a typed error", async () => {
    const engine = await open();
    const staged = await engine.stage("alpha", "x.parquet");
    await engine.close();
    expect(() => engine.collections()).toThrow(ClosedError);
    expect(() => engine.locate("alpha")).toThrow(ClosedError);
    await expect(engine.place("alpha")).rejects.toBeInstanceOf(ClosedError);
    await expect(engine.commit(staged, "x.parquet")).rejects.toBeInstanceOf(ClosedError);
    await expect(engine.drop("alpha")).rejects.toBeInstanceOf(ClosedError);
    await engine.close(); // a second close does nothing
  });

  it("rejects a bad nodeId or staleStagingMs before touching storage", async () => {
    await expect(open({ nodeId: "a.b" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(open({ staleStagingMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe("EngineBase with roots that do not exist yet (local disk)", () => {
  const local = useBackend("local");

  it("creates an absent root only when asked, and never one that a sibling's marker expects", async () => {
    const tier = await local.roots("disk", 2);
    const absent = tier.absentUrl("disk9");
    const urls = [...tier.urls, absent];
    const open = (createMissingRoots: boolean) =>
      EngineBase.open({
        component: "viper",
        service: new AssignmentService({ components: { viper: { roots: urls } } }),
        openFileSystem: (r) => tier.openFileSystem(r),
        nodeId: "node-a",
        createMissingRoots,
      });
    const plain = await open(false);
    expect(plain.report.roots[2]).toMatchObject({ status: "missing", absent: true, expected: false });
    expect(plain.offlineRoots).toEqual([absent]);
    await plain.close();
    expect(existsSync(tier.localPath(absent))).toBe(false);

    const creating = await open(true);
    expect(creating.offlineRoots).toEqual([]);
    expect(creating.report.roots[2]?.status).toBe("online");
    expect(await tier.keys(absent)).toEqual(["_proximadb_root.json"]);
    // A write to root 0 gives it a marker that lists its marked siblings, disk9 among them.
    const staged = await creating.stage("c1", "part.parquet");
    await staged.fs.write(staged.key, "bytes", { durable: true });
    await creating.commit(staged, "vectors/part-00000001.parquet");
    expect(staged.url).toBe(urls[0]);
    await creating.close();

    // disk9 vanishes (an unmounted disk): it is expected now, so it is reported missing, not re-created.
    await rm(tier.localPath(absent), { recursive: true });
    const after = await open(true);
    expect(after.report.roots[2]).toMatchObject({ status: "missing", absent: true, expected: true });
    expect(after.offlineRoots).toEqual([absent]);
    expect(existsSync(tier.localPath(absent))).toBe(false);
    await after.close();
  });
});
