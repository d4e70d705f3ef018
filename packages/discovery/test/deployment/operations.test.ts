import { type FileSystem, FsError } from "@proximadb/core";
import { createMemoryRoots, MemoryFileSystem } from "@proximadb/fs-memory";
import { describe, expect, it } from "vitest";
import {
  applyAssessment,
  assessRoots,
  type ConfiguredRoot,
  DeploymentError,
  discover,
  initDeployment,
  joinRoots,
  prepareDeployment,
  readNewestMarker,
  retireRoot,
  rewriteMarkers,
} from "../../src/index.js";

function setup(names: string[], files: Record<string, Record<string, string>> = {}) {
  const h = createMemoryRoots(
    Object.fromEntries(Object.keys(files).map((n) => [`mem://${n}`, files[n] ?? {}])),
  );
  const fs = (n: string) => new MemoryFileSystem(`mem://${n}`, { volume: h.volume });
  const roots = (ns = names): ConfiguredRoot[] => ns.map((n) => ({ component: "wal" as const, fs: fs(n) }));
  const snapshot = () => JSON.stringify(h.volume.toJSON());
  return { h, fs, roots, snapshot };
}

/** A root whose every request fails as a network outage would. */
function unreachable(fs: FileSystem): FileSystem {
  const fail = async () => {
    throw new FsError("Transient", "connection refused", { root: fs.root.url });
  };
  const w = Object.create(fs) as FileSystem;
  w.probe = fail;
  w.read = fail;
  w.write = fail;
  return w;
}

describe("deployment operations", () => {
  it("initialises once: a second init is refused, and roots with data or an outage are never initialised", async () => {
    const t = setup(["a", "b"], { c: { "x/1.avro": "data" } });
    await initDeployment(t.roots());
    await expect(initDeployment(t.roots())).rejects.toMatchObject({ kind: "AlreadyInitialized" });
    const before = t.snapshot();
    await expect(initDeployment(t.roots(["c", "d"]))).rejects.toMatchObject({
      kind: "NotEmpty",
      urls: ["mem://c"],
    });
    const down = [{ component: "wal" as const, fs: unreachable(t.fs("e")) }, ...t.roots(["d"])];
    await expect(initDeployment(down)).rejects.toMatchObject({ kind: "RootOffline", urls: ["mem://e"] });
    expect(t.snapshot()).toBe(before);
    expect(await t.fs("d").probe()).toEqual({ exists: false });
  });

  it("two nodes initialising the same roots at once end with one deployment", async () => {
    const t = setup(["a", "b", "c", "d"]);
    const [x, y] = await Promise.all([initDeployment(t.roots()), initDeployment(t.roots())]);
    expect(x.deployment).toBe(y.deployment);
    const final = await assessRoots(t.roots());
    expect(final.roots.every((r) => r.status === "online")).toBe(true);
    const deployments = new Set<string>();
    for (const fs of t.roots().map((r) => r.fs)) {
      const m = await readNewestMarker(fs);
      if (m?.format === 2) deployments.add(m.deployment);
    }
    expect([...deployments]).toEqual([x.deployment]);
  });

  it("joins only new roots, and refuses while a known root is offline unless the operator overrides", async () => {
    const t = setup(["a", "b", "c"], { busy: { "c1/1.avro": "x" } });
    await initDeployment(t.roots());
    await expect(joinRoots(t.roots(["a", "b", "c", "busy"]), ["mem://busy"])).rejects.toMatchObject({
      kind: "NotEmpty",
    });
    await t.h.volume.promises.rm("/c", { recursive: true });
    const config = t.roots(["a", "b", "c", "n"]);
    const before = t.snapshot();
    await expect(joinRoots(config)).rejects.toMatchObject({ kind: "RootOffline", urls: ["mem://c"] });
    expect(t.snapshot()).toBe(before);
    const forced = await joinRoots(config, undefined, { allowOffline: true });
    expect(forced.roots.map((r) => r.status)).toEqual(["online", "online", "missing", "online"]);
    expect(await t.fs("c").probe()).toEqual({ exists: false });
  });

  it("rewrites nothing when nothing is stale, and refuses on roots without any marker", async () => {
    const t = setup(["a", "b"]);
    await expect(rewriteMarkers(t.roots())).rejects.toMatchObject({ kind: "NotInitialized" });
    const a = await initDeployment(t.roots());
    const before = t.snapshot();
    expect((await rewriteMarkers(t.roots())).version).toBe(a.version);
    expect(t.snapshot()).toBe(before);
  });

  it("retires by URL or UUID, is idempotent, and refuses a root the deployment does not list", async () => {
    const t = setup(["a", "b", "c"]);
    const a = await initDeployment(t.roots());
    const c = a.roots[2]?.uuid as string;
    await expect(retireRoot(t.roots(["a", "b"]), "mem://zz", { force: true })).rejects.toMatchObject({
      kind: "UnknownRoot",
    });
    const r = await retireRoot(t.roots(["a", "b"]), c, { collections: () => 0 });
    expect(r.entries.find((e) => e.uuid === c)).toMatchObject({ state: "retired" });
    expect(r.version).toBe(a.version + 1);
    expect((await retireRoot(t.roots(["a", "b"]), "mem://c")).version).toBe(r.version);
    // The retired root was not configured: its own marker was not touched.
    expect(
      (await readNewestMarker(t.fs("c")))?.format === 2 && (await readNewestMarker(t.fs("c"))),
    ).toMatchObject({
      version: a.version,
    });
  });

  it("keeps a root still offline at completion in `initializing` when the operator completes without it", async () => {
    const t = setup(["a", "b", "c"]);
    let n = 0;
    const crashing = t.roots().map((r) => {
      const w = Object.create(r.fs) as FileSystem;
      w.write = async (key, data, o) => {
        if (key.startsWith("_proximadb_root.v") && ++n > 1) throw new Error("simulated crash");
        return r.fs.write(key, data, o);
      };
      w.list = (p, o) => r.fs.list(p, o);
      w.read = (k, range) => r.fs.read(k, range);
      w.probe = () => r.fs.probe();
      return { ...r, fs: w };
    });
    await expect(initDeployment(crashing)).rejects.toThrow("simulated crash");
    await t.h.volume.promises.mkdir("/c/x", { recursive: true });
    await t.h.volume.promises.writeFile("/c/x/1.avro", "someone's data");
    const { assessment } = await prepareDeployment(t.roots());
    expect(assessment.problems.map((p) => p.kind)).toEqual(["CompleteBlocked"]);
    const forced = await joinRoots(t.roots(), [], { allowOffline: true });
    expect(forced.entries.map((e) => e.state)).toEqual(["active", "active", "initializing"]);
    expect(forced.roots.map((r) => r.status)).toEqual(["online", "online", "foreign"]);
    expect(await t.fs("c").exists("_proximadb_root.json")).toBe(false);
  });

  it("raises DeploymentError with code DEPLOYMENT for every refusal", async () => {
    const t = setup(["a"]);
    const err = await joinRoots(t.roots()).catch((e) => e);
    expect(err).toBeInstanceOf(DeploymentError);
    expect(err).toMatchObject({ code: "DEPLOYMENT", kind: "NotInitialized", retryable: false });
  });

  it("folds the assessment into a discovery report: an offline root gives no copy, no conflict and no staging", async () => {
    const t = setup(["a", "b"], {
      x: { "dup/000001.avro": "theirs", "dup/_staging/f/000002.avro": "half", "only-x/1.avro": "x" },
    });
    await initDeployment(t.roots());
    await t.fs("a").write("dup/000001.avro", "ours");
    const fss = ["a", "b", "x"].map((n) => t.fs(n));
    const report = await discover({ component: "wal", roots: fss });
    expect(report.conflicts.map((c) => c.collection)).toEqual(["dup"]);
    const assessment = await assessRoots(t.roots(["a", "b", "x"]));
    const folded = applyAssessment(report, assessment);
    expect(folded.roots.map((r) => r.status)).toEqual(["online", "online", "foreign"]);
    expect(folded.roots[2]?.error).toMatch(/^UnmarkedData: /);
    expect(folded.collections.dup?.url).toBe("mem://a");
    expect(Object.keys(folded.collections)).toEqual(["dup"]);
    expect(folded.conflicts).toEqual([]);
    expect(folded.ignored.filter((e) => e.url === "mem://x")).toEqual([]);
    expect(folded.ignoredCounts.staging).toBe(0);
    expect(folded).toMatchObject({ deployment: assessment.deployment, unconfigured: [] });
  });
});
