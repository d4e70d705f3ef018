import { createMemoryRoots, MemoryFileSystem } from "@proximadb/fs-memory";
import { describe, expect, it } from "vitest";
import {
  classifyKey,
  commitMarker,
  DeploymentError,
  discover,
  ensureRootMarker,
  ForeignRootError,
  initDeployment,
  isNewRoot,
  parseRootMarker,
  ROOT_MARKER_FILE,
  type RootMarkerV2,
  readNewestMarker,
  readRootMarker,
  readRootMarkers,
} from "../../src/index.js";

const T = "2024-01-01T00:00:00.000Z";
const marker = (version: number, extra: Partial<RootMarkerV2> = {}): RootMarkerV2 => ({
  format: 2,
  deployment: "d-1",
  root: "r-1",
  component: "wal",
  url: "mem://a",
  version,
  createdAt: T,
  updatedAt: T,
  roots: [{ uuid: "r-1", url: "mem://a", component: "wal", state: "active", addedAt: T }],
  ...extra,
});

function oneRoot(files: Record<string, string> = {}) {
  const h = createMemoryRoots({ "mem://a": files });
  return { fs: h.fs("mem://a"), volume: h.volume };
}

describe("marker format 2", () => {
  it("parses format 2 and format 1, and refuses anything else as foreign (Invalid)", () => {
    expect(parseRootMarker("mem://a", JSON.stringify(marker(3)))).toEqual(marker(3));
    const v1 = {
      format: 1,
      uuid: "u",
      component: "lsm",
      url: "mem://a",
      createdAt: T,
      siblings: ["mem://b"],
    };
    expect(parseRootMarker("mem://a", JSON.stringify(v1))).toEqual(v1);
    for (const bad of [
      { ...marker(3), version: 0 },
      { ...marker(3), roots: [{ url: "mem://a", component: "wal", state: "gone", addedAt: T }] },
      { ...marker(3), deployment: "" },
      { ...marker(3), format: 3 },
    ]) {
      const err = (() => {
        try {
          parseRootMarker("mem://a", JSON.stringify(bad));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ForeignRootError);
      expect(err).toMatchObject({ kind: "Invalid", reason: "invalid", code: "FOREIGN_ROOT" });
    }
  });

  it("gives ForeignRootError a PascalCase kind and keeps the format-1 reason", () => {
    expect(new ForeignRootError("mem://a", "component", "x")).toMatchObject({
      kind: "Component",
      reason: "component",
    });
    expect(new ForeignRootError("mem://a", "Retired", "x")).toMatchObject({
      kind: "Retired",
      reason: "uuid",
    });
    expect(new ForeignRootError("mem://a", "UnmarkedData", "x").message).toBe(
      "storage root mem://a is foreign (invalid): x",
    );
  });

  it("classifies marker versions as the marker, not as stray top-level files", () => {
    expect(classifyKey("wal", "_proximadb_root.v12.json")).toEqual({ kind: "marker" });
    expect(classifyKey("wal", "_proximadb_root.v0.json")).toEqual({
      kind: "ignored",
      reason: "top-level-file",
    });
    expect(classifyKey("wal", "_proximadb_root.vx.json")).toEqual({
      kind: "ignored",
      reason: "top-level-file",
    });
  });

  it("lets discover() read format-2 markers: a lost root another marker lists is expected, never new (#3)", async () => {
    const h = createMemoryRoots({ "mem://a": {}, "mem://b": {}, "mem://c": {} });
    const roots = ["mem://a", "mem://b", "mem://c"].map((u) => h.fs(u));
    await initDeployment(roots.map((fs) => ({ component: "wal" as const, fs })));
    await h.volume.promises.rm("/c", { recursive: true });
    const report = await discover({ component: "wal", roots });
    expect(report.roots.map((r) => r.status)).toEqual(["online", "online", "missing"]);
    expect(report.roots[2]).toMatchObject({ absent: true, expected: true });
    expect(isNewRoot(report.roots[2]!)).toBe(false);
    expect(report.ignored).toEqual([]);
    // The previous release's per-root marker call adopts a format-2 marker as it is.
    const m = await readRootMarker(roots[0]!);
    expect(await ensureRootMarker(roots[0]!, "wal")).toEqual(m);
    await expect(ensureRootMarker(roots[0]!, "lsm")).rejects.toMatchObject({ kind: "Component" });
  });
});

describe("marker versions", () => {
  it("commits a version: the version file and the plain copy hold the same bytes, two versions are kept", async () => {
    const { fs } = oneRoot();
    for (let v = 1; v <= 4; v++) await commitMarker(fs, marker(v));
    expect(await readNewestMarker(fs)).toEqual(marker(4));
    expect(await readRootMarker(fs)).toEqual(marker(4));
    expect(await fs.exists("_proximadb_root.v3.json")).toBe(true);
    expect(await fs.exists("_proximadb_root.v2.json")).toBe(false);
    expect(await fs.exists("_proximadb_root.v1.json")).toBe(false);
  });

  it("refuses a version another writer created first (the conditional step), changing nothing", async () => {
    const { fs } = oneRoot();
    await commitMarker(fs, marker(1));
    await commitMarker(fs, marker(2, { updatedAt: "2024-01-02T00:00:00.000Z" }));
    const before = await fs.read(ROOT_MARKER_FILE);
    const err = await commitMarker(fs, marker(2, { name: "late" })).catch((e) => e);
    expect(err).toBeInstanceOf(DeploymentError);
    expect(err).toMatchObject({ kind: "Conflict", code: "DEPLOYMENT", retryable: true });
    expect(await fs.read(ROOT_MARKER_FILE)).toEqual(before);
  });

  it("refuses a stale writer whose version was pruned: the newest version must be its own", async () => {
    const { fs } = oneRoot();
    for (let v = 1; v <= 5; v++) await commitMarker(fs, marker(v));
    await expect(commitMarker(fs, marker(2, { name: "stale" }))).rejects.toMatchObject({ kind: "Conflict" });
    expect(await readNewestMarker(fs)).toEqual(marker(5));
    expect(await readRootMarker(fs)).toEqual(marker(5));
  });

  it("reads the newest version even when a crash left the plain copy one version behind", async () => {
    const { fs } = oneRoot();
    await commitMarker(fs, marker(1));
    await fs.write("_proximadb_root.v2.json", JSON.stringify(marker(2)), { exclusive: true });
    expect(await readNewestMarker(fs)).toEqual(marker(2));
    expect(await readRootMarker(fs)).toEqual(marker(1));
  });

  it("observes roots read-only: absent, empty, data, marked, unparseable", async () => {
    const h = createMemoryRoots({
      "mem://empty": { "._proximadb_root.json.tmp-1": "half a marker" },
      "mem://data": { "c1/1.avro": "x" },
      "mem://junk": { [ROOT_MARKER_FILE]: "{" },
    });
    const absent = new MemoryFileSystem("mem://absent", { volume: h.volume });
    const marked = new MemoryFileSystem("mem://marked", { volume: h.volume });
    await commitMarker(marked, marker(1, { url: "mem://marked" }));
    const before = JSON.stringify(h.volume.toJSON());
    const seen = await readRootMarkers(
      [absent, h.fs("mem://empty"), h.fs("mem://data"), marked, h.fs("mem://junk")].map((fs) => ({
        component: "wal" as const,
        fs,
      })),
    );
    expect(seen.map((o) => o.probe)).toEqual(["absent", "empty", "data", "exists", "exists"]);
    expect(seen[3]?.marker).toEqual(marker(1, { url: "mem://marked" }));
    expect(seen[4]?.markerInvalid).toBe(true);
    expect(JSON.stringify(h.volume.toJSON())).toBe(before);
    expect(await absent.probe()).toEqual({ exists: false });
  });
});
