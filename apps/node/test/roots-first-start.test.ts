/**
 * Issue #13, scenario 3: the markers a first start writes vouch for every root of the deployment, every
 * component, a single-root component included, so a lost disk is never re-initialised empty. Plus: a
 * single-root component whose disk is lost, and a first start killed half-way through initialising roots.
 */
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "./helpers.js";
import {
  DIM,
  type ReadBack,
  type Response,
  Scenario,
  itReadsBack,
  spawnServe,
  writeConfig,
} from "./roots-support.js";

type Marker = {
  format: number;
  deployment: string;
  root: string;
  url: string;
  roots: { uuid: string; url: string; component: string; state: string }[];
};

const ROOTS: [string, string][] = [
  ["wal", "d1/wal"],
  ["wal", "d2/wal"],
  ["viper", "d1/viper"],
  ["viper", "d2/viper"],
  ["lsm", "d3/lsm"],
  ["metadata", "d1/meta"],
  ["metadata", "d2/meta"],
];

/** WAL, VIPER and metadata on two disks; the LSM component has one root, alone on a third disk. */
function singleRootToml(): string {
  const list = (c: string) => JSON.stringify(ROOTS.filter(([x]) => x === c).map(([, p]) => `file://${p}`));
  return [
    `[storage.wal_config]\nwal_urls = ${list("wal")}`,
    `[storage.viper_config]\ndata_urls = ${list("viper")}`,
    `[storage.lsm_config]\ndata_urls = ${list("lsm")}`,
    `[storage.metadata_config]\nmetadata_urls = ${list("metadata")}`,
  ].join("\n\n");
}

const readMarker = (dir: string, p: string): Marker =>
  JSON.parse(readFileSync(join(dir, p, "_proximadb_root.json"), "utf8"));

describe("first-start markers vouch for every root, and a single-root component's lost disk is never re-created", () => {
  const s = Scenario.inTempDir("proximadb-first-start-");
  const { cwd, ledger } = s;
  const url = (p: string) => `file://${join(cwd, p)}`;
  const seen = {} as {
    markers: Marker[];
    discover: RunResult;
    listed: Response;
    read: Response;
    createLsm: Response;
    viperRead: { checked: number; wrong: string[] };
    recreatedWhileServing: boolean;
    recreatedAfter: boolean;
    back: ReadBack;
  };

  beforeAll(async () => {
    writeFileSync(join(cwd, "proximadb.toml"), singleRootToml());
    const a = await s.start();
    await a.stop();
    seen.markers = ROOTS.map(([, p]) => readMarker(cwd, p));

    const b = await s.start();
    for (const [id, engine] of [
      ["kv-0", "lsm"],
      ["kv-1", "lsm"],
      ["vec-0", "viper"],
    ] as const) {
      await b.request("POST", "/collections", { id, engine, dimension: DIM });
      await ledger.put(b, id, 0, 40);
      await b.request("POST", `/collections/${id}/flush`);
      await ledger.put(b, id, 40, 40);
    }
    await b.stop();

    // The LSM disk is lost.
    renameSync(join(cwd, "d3"), join(cwd, "d3.lost"));
    seen.discover = await s.discover();
    const c = await s.start();
    seen.recreatedWhileServing = existsSync(join(cwd, "d3"));
    seen.listed = await c.request("GET", "/collections");
    seen.read = await c.request("GET", "/collections/kv-0/records/r0");
    seen.createLsm = await c.request("POST", "/collections", { id: "kv-new", engine: "lsm", dimension: DIM });
    seen.viperRead = await ledger.verify(c, ["vec-0"]);
    await c.stop();
    seen.recreatedAfter = existsSync(join(cwd, "d3"));

    // Found again (over whatever an empty re-created root would hold).
    if (existsSync(join(cwd, "d3"))) renameSync(join(cwd, "d3"), join(cwd, "d3.recreated"));
    renameSync(join(cwd, "d3.lost"), join(cwd, "d3"));
    seen.back = await s.readBack();
  }, 180_000);

  it("writes a format-2 marker in every root, all of one deployment", () => {
    expect(seen.markers.map((m) => m.format)).toEqual(Array(ROOTS.length).fill(2));
    expect(new Set(seen.markers.map((m) => m.deployment)).size).toBe(1);
  });

  it("every marker lists every root of every component, all active", () => {
    const all = ROOTS.map(([c, p]) => `${c} ${url(p)}`).sort();
    for (const m of seen.markers) {
      expect(m.roots.map((e) => `${e.component} ${e.url}`).sort()).toEqual(all);
      expect(m.roots.every((e) => e.state === "active")).toBe(true);
    }
  });

  it("every root is listed under the UUID its own marker carries (the single LSM root included)", () => {
    for (const m of seen.markers) {
      const own = m.roots.find((e) => e.url === m.url);
      expect(own?.uuid).toBe(m.root);
      for (const other of seen.markers) expect(other.roots.find((e) => e.uuid === m.root)?.url).toBe(m.url);
    }
  });

  it("discover reports the lost single LSM root as missing and exits 3", () => {
    expect(seen.discover.code).toBe(3);
    expect(JSON.parse(seen.discover.stdout).components.lsm.roots[0]).toMatchObject({
      url: url("d3/lsm"),
      status: "missing",
    });
  });

  it("never re-creates the lost root, neither at start nor while serving", () => {
    expect(seen.recreatedWhileServing).toBe(false);
    expect(seen.recreatedAfter).toBe(false);
  });

  it("lists the LSM collections as unavailable (missing), the VIPER one as available", () => {
    const byId = Object.fromEntries(
      seen.listed.json.collections.map((c: { id: string; state: string }) => [c.id, c]),
    );
    expect(byId["kv-0"]).toMatchObject({
      state: "unavailable",
      offline: [{ url: url("d3/lsm"), status: "missing" }],
    });
    expect(byId["kv-1"]?.state).toBe("unavailable");
    expect(byId["vec-0"]?.state).toBe("available");
  });

  it("answers reads of the LSM collections with 503, never 404", () => {
    expect(seen.read.status).toBe(503);
    expect(seen.read.json.error.message).toContain(url("d3/lsm"));
  });

  it("places no new LSM collection while its only root is missing", () => {
    expect(seen.createLsm.status).toBe(503);
  });

  it("keeps serving the VIPER collection (80 records)", () => {
    expect(seen.viperRead).toEqual({ checked: 80, wrong: [] });
  });

  itReadsBack("when the disk is found again, every acknowledged record is readable", seen, 240);
});

describe("a first start killed (kill -9) half-way through initialising roots completes at the next start", () => {
  const s = Scenario.inTempDir("proximadb-interrupted-");
  const { cwd, args } = s;
  const roots = ["wal", "viper", "lsm", "index", "metadata"].flatMap((c) =>
    [1, 2, 3].map((d) => join("data", `disk${d}`, c)),
  );
  /** The newest marker version of a root (the plain copy may not be written yet when a start is killed). */
  const markerOf = (p: string): Marker | undefined => {
    if (!existsSync(join(cwd, p))) return undefined;
    const newest = readdirSync(join(cwd, p))
      .filter((f) => /^_proximadb_root\.v\d+\.json$/.test(f))
      .sort((x, y) => Number(x.split(".")[1]?.slice(1)) - Number(y.split(".")[1]?.slice(1)))
      .at(-1);
    return newest ? JSON.parse(readFileSync(join(cwd, p, newest), "utf8")) : undefined;
  };
  const seen = {} as {
    line: string | undefined;
    killedBy: unknown;
    half: Map<string, Marker | undefined>;
    versions: string[][];
    discover: RunResult;
    restart: Response;
    after: Map<string, Marker | undefined>;
  };

  beforeAll(async () => {
    writeConfig(cwd);
    const first = await spawnServe(
      cwd,
      args,
      { PROXIMADB_TEST_PAUSE_AFTER_MARKER_WRITES: "4" },
      (l) => l.includes("paused after 4 marker writes") || l.includes('"listening"'),
    );
    seen.line = first.line;
    first.child.kill("SIGKILL");
    seen.killedBy = await first.exited;
    seen.half = new Map(roots.map((p) => [p, markerOf(p)]));
    seen.versions = roots.map((p) =>
      existsSync(join(cwd, p))
        ? readdirSync(join(cwd, p)).filter((f) => f.startsWith("_proximadb_root.v"))
        : [],
    );
    seen.discover = await s.discover();
    const again = await s.start();
    seen.restart = await again.request("GET", "/healthz");
    await again.stop();
    seen.after = new Map(roots.map((p) => [p, markerOf(p)]));
  }, 120_000);

  const written = () => [...seen.half].filter(([, m]) => m !== undefined) as [string, Marker][];

  it("the first start stopped after the fourth marker write, and died by SIGKILL", () => {
    expect(seen.line).toContain("paused after 4 marker writes");
    expect(seen.killedBy).toBe("SIGKILL");
  });

  it("left some roots marked (initializing, listing all 15 roots) and others without a marker", () => {
    const w = written();
    expect(w.length).toBeGreaterThanOrEqual(4);
    expect(w.length).toBeLessThan(roots.length);
    for (const [, m] of w) {
      expect(m.roots).toHaveLength(roots.length);
      expect(m.roots.every((e) => e.state === "initializing")).toBe(true);
    }
    expect(seen.versions.every((v) => v.length <= 1)).toBe(true);
  });

  it("discover reads the half-initialised roots as new (initialisation resumes), exit 3", () => {
    expect(seen.discover.code).toBe(3);
    const statuses = Object.values(JSON.parse(seen.discover.stdout).components).flatMap((c) =>
      (c as { roots: { status: string }[] }).roots.map((r) => r.status),
    );
    expect(new Set(statuses)).toEqual(new Set(["new"]));
  });

  it("the next start serves", () => {
    expect(seen.restart.status).toBe(200);
  });

  it("completes the same deployment: every root marked active, the roots written first keep their UUIDs", () => {
    const deployment = written()[0]?.[1].deployment;
    for (const [p, m] of seen.after) {
      expect(m?.deployment, p).toBe(deployment);
      expect(m?.roots.every((e) => e.state === "active")).toBe(true);
      const before = seen.half.get(p);
      if (before) expect(m?.root).toBe(before.root);
    }
  });
});

describe("a root added to the configuration joins at start; it waits while a known root is offline", () => {
  const s = Scenario.inTempDir("proximadb-join-");
  const { cwd } = s;
  const disk4 = join(cwd, "data", "disk4", "wal");
  const withDisk4 = (t: string) =>
    t.replace('"file://data/disk3/wal"]', '"file://data/disk3/wal", "file://data/disk4/wal"]');
  const seen = {} as {
    blockedExists: boolean;
    blockedLogs: string[];
    joinedLogs: string[];
    markers: Marker[];
    joined: Marker;
    placed: string[];
  };

  beforeAll(async () => {
    writeConfig(cwd);
    const a = await s.start();
    await a.stop();
    writeConfig(cwd, withDisk4);
    // A known root is away: the new one must wait (that root may hold a newer roots list).
    renameSync(join(cwd, "data", "disk2", "lsm"), join(cwd, "data", "disk2", "lsm.away"));
    const b = await s.start();
    seen.blockedLogs = b.logs;
    await b.stop();
    seen.blockedExists = existsSync(disk4);
    renameSync(join(cwd, "data", "disk2", "lsm.away"), join(cwd, "data", "disk2", "lsm"));
    const c = await s.start();
    seen.joinedLogs = c.logs;
    seen.placed = [];
    for (let i = 0; i < 4; i++) {
      const r = await c.request("POST", "/collections", { id: `j-${i}`, engine: "lsm", dimension: DIM });
      seen.placed.push(r.json.placements.wal.url);
    }
    await c.stop();
    seen.joined = readMarker(cwd, "data/disk4/wal");
    seen.markers = ["wal", "viper", "lsm", "index", "metadata"].flatMap((comp) =>
      [1, 2, 3].map((d) => readMarker(cwd, `data/disk${d}/${comp}`)),
    );
  }, 120_000);

  it("does not initialise the new root while a known root is offline, and says why", () => {
    expect(seen.blockedExists).toBe(false);
    expect(seen.blockedLogs.some((l) => l.includes("JoinBlocked"))).toBe(true);
  });

  it("initialises it once every known root is online", () => {
    expect(
      seen.joinedLogs.some((l) => l.includes("initialised new storage roots") && l.includes(disk4)),
    ).toBe(true);
    expect(seen.joined).toMatchObject({ format: 2, url: `file://${disk4}` });
  });

  it("every marker learns the new root", () => {
    for (const m of seen.markers)
      expect(m.roots.find((e) => e.uuid === seen.joined.root)).toMatchObject({
        state: "active",
        component: "wal",
      });
  });

  it("places new collections on it", () => {
    expect(seen.placed).toContain(`file://${disk4}`);
  });
});
