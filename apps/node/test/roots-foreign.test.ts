/**
 * Issue #13, scenario 5: deployments do not mix — a disk of another deployment mounted in place of one
 * of ours is `foreign`: never written, none of its collections served as ours, ours that lived there
 * unavailable. And a mount swap (two disks remounted in each other's place) keeps working: each
 * collection follows its disk, the swap is reported and the markers learn the new places.
 */
import { cpSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { itAnswers } from "./answers.js";
import { type RunResult, tempDir } from "./helpers.js";
import {
  COMPONENTS,
  Ledger,
  type ReadBack,
  type Response,
  Scenario,
  expectReadBack,
  itReadsBack,
  populate,
  snapshotTree,
  writeConfig,
} from "./roots-support.js";

describe("a disk of another deployment mounted in place of ours is foreign", () => {
  const s = Scenario.inTempDir("proximadb-ours-");
  const { cwd: ours, ledger } = s;
  const theirs = tempDir("proximadb-theirs-");
  const disk3 = join(ours, "data", "disk3");
  const theirLedger = new Ledger();
  const theirIds = ["b-0", "b-1", "b-2", "b-3", "b-4", "b-5"];
  const seen = {} as {
    snapshotBefore: Record<string, string>;
    discover: RunResult;
    listed: Response;
    theirs: Response[];
    ours: Response;
    oursWrite: Response;
    oursFlush: Response;
    healthyWrite: Response;
    snapshotAfter: Record<string, string>;
    back: ReadBack;
  };

  beforeAll(async () => {
    for (const [dir, l, ids] of [
      [ours, ledger, undefined],
      [theirs, theirLedger, theirIds],
    ] as const) {
      writeConfig(dir);
      const n = await s.start(dir);
      await populate(n, l, 60, ids);
      await n.stop();
    }
    // Their third disk is mounted where ours was.
    renameSync(disk3, `${disk3}.ours`);
    cpSync(join(theirs, "data", "disk3"), disk3, { recursive: true });
    seen.snapshotBefore = snapshotTree(disk3);
    seen.discover = await s.discover();
    const a = await s.start();
    seen.listed = await a.request("GET", "/collections");
    seen.theirs = await Promise.all(theirIds.map((id) => a.request("GET", `/collections/${id}/records/r0`)));
    seen.ours = await a.request("GET", "/collections/col-4/records/r0");
    // col-4 keeps its VIPER files on the disk that is now theirs: a write and a flush would land there.
    seen.oursWrite = await ledger.put(a, "col-4", 1000, 10);
    seen.oursFlush = await a.request("POST", "/collections/col-4/flush");
    seen.healthyWrite = await ledger.put(a, "col-0", 1000, 20);
    await a.stop();
    seen.snapshotAfter = snapshotTree(disk3);

    renameSync(disk3, `${disk3}.theirs`);
    renameSync(`${disk3}.ours`, disk3);
    seen.back = await s.readBack();
  }, 240_000);

  it("discover exits 3 and reports every root of the foreign disk as foreign (another deployment)", () => {
    expect(seen.discover.code).toBe(3);
    const report = JSON.parse(seen.discover.stdout);
    for (const c of COMPONENTS) {
      const root = report.components[c].roots[2];
      expect(root.status, c).toBe("foreign");
      expect(root.detail).toContain("Deployment");
    }
  });

  it("serves none of the other deployment's collections", () => {
    const ids = seen.listed.json.collections.map((c: { id: string }) => c.id);
    expect(ids.filter((id: string) => id.startsWith("b-"))).toEqual([]);
    for (const r of seen.theirs) expect(r.status).not.toBe(200);
  });

  it("answers for our collection that lived there with 503 naming the foreign root", () => {
    expect(seen.ours.status).toBe(503);
    expect(seen.ours.json.error.roots[0]).toMatchObject({ url: `file://${disk3}/viper`, status: "foreign" });
  });

  itAnswers(seen, [
    ["refuses writes and flushes of that collection with 503", { oursWrite: 503, oursFlush: 503 }],
    ["keeps serving our collections on our disks", { healthyWrite: 200 }],
  ]);

  it("writes nothing on the foreign disk", () => {
    expect(seen.snapshotAfter).toEqual(seen.snapshotBefore);
  });

  itReadsBack("when our disk is back, every acknowledged record is readable", seen, 380);
});

describe("a mount swap: each collection follows its disk, the markers learn the new places", () => {
  const s = Scenario.inTempDir("proximadb-swap-");
  const { cwd, ledger } = s;
  const wal = (d: number) => join(cwd, "data", `disk${d}`, "wal");
  const url = (d: number) => `file://${wal(d)}`;
  const seen = {} as {
    uuids: string[];
    discover: RunResult;
    logs: string[];
    listed: Response;
    write: Response;
    back: ReadBack;
    markers: { root: string; url: string; roots: { uuid: string; url: string }[] }[];
    discoverAfter: RunResult;
  };

  beforeAll(async () => {
    await s.populated();
    const marker = (d: number) => JSON.parse(readFileSync(join(wal(d), "_proximadb_root.json"), "utf8"));
    seen.uuids = [marker(1).root, marker(2).root];
    // The two WAL disks come back in each other's place.
    renameSync(wal(1), `${wal(1)}.x`);
    renameSync(wal(2), wal(1));
    renameSync(`${wal(1)}.x`, wal(2));
    seen.discover = await s.discover();
    const b = await s.start();
    seen.listed = await b.request("GET", "/collections");
    seen.write = await ledger.put(b, "col-0", 1000, 10);
    seen.back = await ledger.verify(b);
    seen.logs = b.logs;
    await b.stop();
    seen.markers = [1, 2, 3].map(marker);
    seen.discoverAfter = await s.discover();
  }, 180_000);

  it("discover reports both roots online, moved from each other's place, with a warning", () => {
    const out = JSON.parse(seen.discover.stdout);
    const roots = out.components.wal.roots;
    expect(roots[0]).toMatchObject({ status: "online", moved: { from: url(2) } });
    expect(roots[1]).toMatchObject({ status: "online", moved: { from: url(1) } });
    expect(out.deployment.warnings.filter((w: string) => w.includes("mount swap"))).toHaveLength(2);
  });

  it("serve logs the swap as a warning", () => {
    expect(seen.logs.some((l) => l.includes("mount swap") && l.includes('"level":40'))).toBe(true);
  });

  it("each collection follows its disk: col-0's WAL is served from where its data is now", () => {
    const col0 = seen.listed.json.collections.find((c: { id: string }) => c.id === "col-0");
    expect(col0.placements.wal.url).toBe(url(2));
    expect(seen.write.status).toBe(200);
  });

  it("reads every acknowledged record exactly (370)", () => expectReadBack(seen.back, 370));

  it("rewrites the markers: every root is recorded where it is now", () => {
    expect(seen.markers[0]?.root).toBe(seen.uuids[1]);
    expect(seen.markers[1]?.root).toBe(seen.uuids[0]);
    for (const m of seen.markers) {
      expect(m.roots.find((e) => e.uuid === seen.uuids[0])?.url).toBe(url(2));
      expect(m.roots.find((e) => e.uuid === seen.uuids[1])?.url).toBe(url(1));
    }
  });

  it("a later discover sees no move any more and exits 0", () => {
    expect(seen.discoverAfter.code).toBe(0);
    const roots = JSON.parse(seen.discoverAfter.stdout).components.wal.roots;
    expect(roots.some((r: { moved?: unknown }) => r.moved)).toBe(false);
  });
});
