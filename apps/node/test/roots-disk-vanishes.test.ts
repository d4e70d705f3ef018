/**
 * Issue #13: every root of one disk vanishes at once (its WAL, VIPER, LSM, index and metadata roots), at
 * a restart and while the node serves (the periodic re-probe). Its collections are unavailable — never
 * absent, never re-created, nothing written there — the others keep serving, and when the disk comes
 * back nothing acknowledged is lost.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { itAnswers } from "./answers.js";
import type { RunResult, RunningNode } from "./helpers.js";
import {
  COMPONENTS,
  DIM,
  type ReadBack,
  type Response,
  Scenario,
  eventually,
  itReadsBack,
  populate,
  writeConfig,
} from "./roots-support.js";

describe("all roots of one disk vanish at once (found at a restart)", () => {
  const s = Scenario.inTempDir("proximadb-vanish-");
  const { cwd, ledger } = s;
  const disk2 = join(cwd, "data", "disk2");
  const seen = {} as {
    discover: RunResult;
    recreated: boolean;
    listed: Response;
    definedThere: Response[];
    partlyThere: Response[];
    recreate: Response[];
    healthy: { checked: number; wrong: string[] };
    healthyWrite: Response;
    recreatedAfter: boolean;
    back: ReadBack;
  };

  beforeAll(async () => {
    await s.populated();

    renameSync(disk2, `${disk2}.away`);
    seen.discover = await s.discover();
    const b = await s.start();
    seen.recreated = existsSync(disk2);
    seen.listed = await b.request("GET", "/collections");
    // col-1 and col-4 are defined on disk2's metadata root; col-2 (VIPER) and col-3 (LSM) keep their engine there.
    seen.definedThere = [
      await b.request("GET", "/collections/col-1"),
      await b.request("GET", "/collections/col-1/records/r0"),
      await b.request("GET", "/collections/col-4/records/r0"),
    ];
    seen.partlyThere = [
      await b.request("GET", "/collections/col-2/records/r0"),
      await b.request("GET", "/collections/col-3/records/r0"),
    ];
    seen.recreate = [
      await b.request("POST", "/collections", { id: "col-1", engine: "lsm", dimension: DIM }),
      await b.request("POST", "/collections", { id: "col-4", engine: "viper", dimension: DIM }),
    ];
    seen.healthyWrite = await ledger.put(b, "col-5", 1000, 25);
    seen.healthy = await ledger.verify(b, ["col-0", "col-5"]);
    await b.stop();
    seen.recreatedAfter = existsSync(disk2);

    renameSync(`${disk2}.away`, disk2);
    seen.back = await s.readBack();
  }, 180_000);

  it("discover exits 3 and reports each of the disk's roots as missing", () => {
    expect(seen.discover.code).toBe(3);
    const report = JSON.parse(seen.discover.stdout);
    for (const c of COMPONENTS) expect(report.components[c].roots[1].status, c).toBe("missing");
  });

  it("re-creates none of the disk's roots, at start or while serving", () => {
    expect(seen.recreated).toBe(false);
    expect(seen.recreatedAfter).toBe(false);
  });

  it("lists the collections defined elsewhere; those with an engine on the lost disk are unavailable", () => {
    const listed = seen.listed.json.collections.map(
      (c: { id: string; state: string }) => `${c.id} ${c.state}`,
    );
    expect(listed).toEqual(["col-0 available", "col-2 unavailable", "col-3 unavailable", "col-5 available"]);
  });

  it("answers for collections defined on the lost disk with 503 naming its metadata root, never 404", () => {
    for (const r of seen.definedThere) {
      expect(r.status).toBe(503);
      expect(r.json.error.message).toContain(`file://${disk2}/metadata`);
    }
  });

  it("answers reads of collections with an engine on the lost disk with 503, never 404", () => {
    for (const r of seen.partlyThere) expect(r.status).toBe(503);
  });

  it("never creates over them: POST /collections answers 409 (their data on other disks is an orphan)", () => {
    for (const r of seen.recreate) expect(r.status).toBe(409);
  });

  it("keeps serving the collections wholly on other disks (145 records)", () => {
    expect(seen.healthyWrite.status).toBe(200);
    expect(seen.healthy).toEqual({ checked: 145, wrong: [] });
  });

  itReadsBack("when the disk comes back, every acknowledged record is readable", seen, 385);
});

describe("a disk goes away while the node serves, and comes back (the periodic re-probe)", () => {
  const s = Scenario.inTempDir("proximadb-reprobe-");
  const { cwd, ledger } = s;
  const walRoot = join(cwd, "data", "disk2", "wal");
  const stateOf = async (node: RunningNode, id: string) =>
    (await node.request("GET", `/collections/${id}`)).json.state as string;
  const seen = {} as {
    wentOffline: boolean;
    write: Response;
    read: Response;
    create: Response;
    healthyWrite: Response;
    mountPoint: string[];
    cameBack: boolean;
    writeBack: Response;
    killedBy: unknown;
    back: ReadBack;
  };

  beforeAll(async () => {
    writeConfig(cwd, (t) => `${t}\n[deployment]\nprobe_interval_ms = 100\n`);
    const a = await s.start();
    await populate(a, ledger);
    // The WAL disk of col-1 and col-4 is unmounted under the running node.
    renameSync(walRoot, `${walRoot}.unmounted`);
    mkdirSync(walRoot);
    seen.wentOffline = await eventually(async () => (await stateOf(a, "col-1")) === "unavailable");
    seen.write = await ledger.put(a, "col-1", 1000, 10);
    seen.read = await a.request("GET", "/collections/col-4/records/r0");
    seen.create = await a.request("POST", "/collections", { id: "fresh", engine: "lsm", dimension: DIM });
    seen.healthyWrite = await ledger.put(a, "col-0", 1000, 10);
    seen.mountPoint = readdirSync(walRoot);
    // Mounted again.
    rmdirSync(walRoot);
    renameSync(`${walRoot}.unmounted`, walRoot);
    seen.cameBack = await eventually(async () => (await stateOf(a, "col-1")) === "available");
    seen.writeBack = await ledger.put(a, "col-1", 2000, 10);
    a.child.kill("SIGKILL");
    seen.killedBy = await a.exited;
    seen.back = await s.readBack();
  }, 180_000);

  it("notices the disk is gone: its collections turn unavailable", () => {
    expect(seen.wentOffline).toBe(true);
  });

  itAnswers(seen, [
    ["refuses their writes and reads with 503 while it is gone", { write: 503, read: 503 }],
    ["places no new collection meanwhile (503)", { create: 503 }],
    ["keeps serving the other collections", { healthyWrite: 200 }],
  ]);

  it("writes nothing into the bare mount point", () => {
    expect(seen.mountPoint).toEqual([]);
  });

  it("serves them again once the disk is back, without a restart", () => {
    expect(seen.cameBack).toBe(true);
    expect(seen.writeBack.status).toBe(200);
  });

  it("after kill -9 and a restart, every acknowledged record is readable (380)", () => {
    expect(seen.killedBy).toBe("SIGKILL");
    expect(seen.back.wrong).toEqual([]);
    expect(seen.back.checked).toBe(380);
  });
});
