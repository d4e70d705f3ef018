import { existsSync } from "node:fs";
import { FsError, InvalidArgumentError } from "@proximadb/core";
import { createFaultProxy } from "@proximadb/testing/fault-proxy";
import { beforeAll, describe, expect, it } from "vitest";
import {
  BACKEND_KINDS,
  type RootSet,
  type StorageBackend,
  describeOnBackends,
  openBackend,
  useBackend,
} from "../src/index.js";

const T0 = Date.UTC(2024, 0, 1); // whole seconds: every backend that sets times keeps them exactly
const endpoints = new Map<string, (string | undefined)[]>();
/** Sets made by tests, checked by later tests once their test has finished. */
const leftBehind = new Map<string, RootSet>();
const suiteSets = new Map<string, RootSet>();

describeOnBackends("RootSet", BACKEND_KINDS, (backend) => {
  let suiteSet: RootSet;
  beforeAll(async () => {
    suiteSet = await backend.roots("suite", 1);
    suiteSets.set(backend.kind, suiteSet);
  });

  it("makes fresh roots that exist and hold nothing, named by component and index", async () => {
    const roots = await backend.roots("wal", 2);
    expect(roots.urls).toHaveLength(2);
    expect(roots.urls[0]).toMatch(/\/wal1$/);
    expect(roots.urls[1]).toMatch(/\/wal2$/);
    for (const fs of roots.fileSystems()) {
      expect(await fs.probe()).toEqual({ exists: true });
      await fs.close();
    }
    for (const url of roots.urls) expect(await roots.keys(url)).toEqual([]);
    expect(await roots.snapshot()).toEqual(
      backend.kind === "memory" || backend.kind === "local" ? { "wal1/": "dir", "wal2/": "dir" } : {},
    );
  });

  it("names roots as asked and rejects bad names and counts with InvalidArgumentError", async () => {
    const roots = await backend.roots("ignored", ["r0", "disk-a"]);
    expect(roots.urls.map((u) => u.slice(u.lastIndexOf("/") + 1))).toEqual(["r0", "disk-a"]);
    await expect(backend.roots("Bad Name")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.roots("wal", 0)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(backend.roots("wal", ["a", "a"])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(roots.keys("mem://elsewhere")).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("keeps sets apart: what one test writes, another set never sees", async () => {
    const a = await backend.roots("wal", 2);
    const b = await backend.roots("wal", 2);
    expect(a.urls.filter((u) => b.urls.includes(u))).toEqual([]);
    await a.write(a.urls[0] as string, { "orders/000001.avro": "x", "orders/000002.avro": "yy" });
    expect(await a.keys(a.urls[0] as string)).toEqual(["orders/000001.avro", "orders/000002.avro"]);
    expect(await a.keys(a.urls[0] as string, "orders/000002")).toEqual(["orders/000002.avro"]);
    expect(await a.keys(a.urls[1] as string)).toEqual([]);
    for (const url of b.urls) expect(await b.keys(url)).toEqual([]);
    expect(await b.snapshot()).not.toEqual(await a.snapshot());
  });

  it("opens a new file system on every call, seeing what another instance wrote (a restart)", async () => {
    const roots = await backend.roots("lsm", 1);
    const url = roots.urls[0] as string;
    const first = roots.openFileSystem(url);
    const second = backend.openFileSystem(url);
    expect(second).not.toBe(first);
    await first.write("c1/000001.sst", "table");
    await first.close();
    expect(new TextDecoder().decode(await second.read("c1/000001.sst"))).toBe("table");
    await second.close();
  });

  it("gives absent roots that do not exist, stay absent and are not roots of the set", async () => {
    const roots = await backend.roots("disk", 2);
    const absent = roots.absentUrl("disk9");
    expect(roots.absentUrl("disk9")).toBe(absent);
    expect(roots.urls).not.toContain(absent);
    const fs = roots.openFileSystem(absent);
    expect(await fs.probe()).toEqual({ exists: false });
    await fs.close();
    expect(() => roots.absentUrl("disk1")).toThrow(InvalidArgumentError);
    if (backend.kind === "local") expect(existsSync(roots.localPath(absent))).toBe(false);
  });

  it("snapshots everything stored in the set: unchanged by reads, changed by a write", async () => {
    const roots = await backend.roots("viper", 2);
    await roots.write(roots.urls[1] as string, { "docs/vectors/part-1.parquet": "p" });
    const before = await roots.snapshot();
    await roots.keys(roots.urls[1] as string);
    expect(await roots.snapshot()).toEqual(before);
    expect(Object.keys(before).some((k) => k.endsWith("docs/vectors/part-1.parquet"))).toBe(true);
    await roots.write(roots.urls[0] as string, { "other/1.parquet": "q" });
    expect(await roots.snapshot()).not.toEqual(before);
  });

  it("sets modification times where the backend lets a test, and says Unsupported elsewhere", async () => {
    const roots = await backend.roots("wal", 1);
    const url = roots.urls[0] as string;
    await roots.write(url, { "a/1.avro": "x", "a/2.avro": { data: "y", mtimeMs: T0 } });
    const fs = roots.openFileSystem(url);
    try {
      if (backend.settableMtime) {
        expect((await fs.stat("a/2.avro")).mtimeMs).toBe(T0);
        await roots.touch(url, "a/1.avro", T0 + 60_000);
        expect((await fs.stat("a/1.avro")).mtimeMs).toBe(T0 + 60_000);
      } else {
        const err = await roots.touch(url, "a/1.avro", T0).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(FsError);
        expect((err as FsError).kind).toBe("Unsupported");
      }
    } finally {
      await fs.close();
    }
  });

  it("removes a set's files on cleanup and leaves other sets alone", async () => {
    const a = await backend.roots("wal", 1);
    const b = await backend.roots("wal", 1);
    await a.write(a.urls[0] as string, { "c/1.avro": "x" });
    await b.write(b.urls[0] as string, { "c/1.avro": "x" });
    await a.cleanup();
    await a.cleanup(); // idempotent
    expect(await a.snapshot()).toEqual({});
    expect(await b.keys(b.urls[0] as string)).toEqual(["c/1.avro"]);
  });

  it("removes the roots a test made when the test finishes (part 1: leave files behind)", async () => {
    const roots = await backend.roots("wal", 1);
    await roots.write(roots.urls[0] as string, { "c/1.avro": "x" });
    expect(await roots.snapshot()).not.toEqual({});
    leftBehind.set(backend.kind, roots);
  });

  it("removes the roots a test made when the test finishes (part 2: they are gone)", async () => {
    expect(await leftBehind.get(backend.kind)?.snapshot()).toEqual({});
  });

  it("keeps a set made in beforeAll across the suite's tests (part 1: write)", async () => {
    await suiteSet.write(suiteSet.urls[0] as string, { "kept/1.avro": "x" });
  });

  it("keeps a set made in beforeAll across the suite's tests (part 2: still there)", async () => {
    expect(await suiteSet.keys(suiteSet.urls[0] as string)).toEqual(["kept/1.avro"]);
    (endpoints.get(backend.kind) ?? endpoints.set(backend.kind, []).get(backend.kind))?.push(
      backend.endpoint,
    );
  });

  it("gives the local folder of a local root, and refuses one elsewhere", async () => {
    const roots = await backend.roots("meta", 1);
    const url = roots.urls[0] as string;
    if (backend.kind === "local") {
      const dir = roots.localPath(url);
      expect(existsSync(dir)).toBe(true);
      expect(url).toBe(`file://${dir}`);
    } else expect(() => roots.localPath(url)).toThrow(InvalidArgumentError);
  });

  if (backend.kind !== "memory" && backend.kind !== "local") {
    it("opens a file system through another endpoint (a fault proxy in front of the emulator)", async () => {
      const roots = await backend.roots("wal", 1);
      const url = roots.urls[0] as string;
      const proxy = await createFaultProxy({ target: backend.endpoint as string });
      const viaProxy = backend.openFileSystem(url, { endpoint: proxy.url, attempts: 1 });
      try {
        await viaProxy.write("c/1.avro", "through the proxy");
        expect(proxy.stats.requests).toBeGreaterThan(0);
        expect(await roots.keys(url)).toEqual(["c/1.avro"]);
      } finally {
        await viaProxy.close();
        await proxy.close();
      }
    });
  } else {
    it("has no endpoint", () => {
      expect(backend.endpoint).toBeUndefined();
    });
  }
});

describe("after the per-backend suites", () => {
  it("removed every set made in a suite's beforeAll when that suite ended", async () => {
    expect([...suiteSets.keys()].sort()).toEqual([...BACKEND_KINDS].sort());
    for (const set of suiteSets.values()) expect(await set.snapshot()).toEqual({});
  });
});

describe("one emulator per file", () => {
  const a = useBackend("s3");
  const b = useBackend("s3");
  it("hands every suite of the file the same running backend", () => {
    expect(a.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(b.endpoint).toBe(a.endpoint);
    expect(endpoints.get("s3")).toEqual([a.endpoint]);
  });
});

describe("describeOnBackends input", () => {
  it("rejects an unknown, repeated or empty list of backends with InvalidArgumentError", () => {
    const body = (_b: StorageBackend) => {};
    expect(() => describeOnBackends("x", ["ftp" as never], body)).toThrow(InvalidArgumentError);
    expect(() => describeOnBackends("x", ["memory", "memory"], body)).toThrow(InvalidArgumentError);
    expect(() => describeOnBackends("x", [], body)).toThrow(InvalidArgumentError);
  });
});

describe("openBackend (a backend of one's own)", () => {
  it("removes its folder on cleanup and makes no roots after it", async () => {
    const backend = await openBackend("local");
    const roots = await backend.roots("wal", 2);
    const dir = roots.localPath(roots.urls[0] as string);
    await roots.write(roots.urls[0] as string, { "c/1.avro": "x" });
    await backend.cleanup();
    expect(existsSync(dir)).toBe(false);
    await expect(backend.roots("wal")).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("stops its emulator on cleanup", async () => {
    const backend = await openBackend("s3");
    const endpoint = backend.endpoint as string;
    expect((await fetch(endpoint)).status).toBeLessThan(500);
    await backend.cleanup();
    await expect(fetch(endpoint)).rejects.toThrow();
  });

  it("rejects an unknown kind with InvalidArgumentError", async () => {
    await expect(openBackend("ftp" as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
