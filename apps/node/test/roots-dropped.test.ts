/**
 * Issue #13, scenario 1: a disk's roots are dropped from the configuration. The deployment still knows
 * them: `discover` reports them `unconfigured` (exit 3), `serve` refuses to start (exit 2, one line),
 * until they are configured again (every acknowledged record is there) or retired explicitly with
 * `proximadb roots retire <url>` — refused while the root holds collections, unless `--force`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "./helpers.js";
import {
  COMPONENTS,
  type ReadBack,
  type Response,
  Scenario,
  type ServeOutcome,
  itReadsBack,
  populate,
  tryServe,
  withoutDisk,
  writeConfig,
} from "./roots-support.js";

describe("a disk dropped from the configuration is not forgotten", () => {
  const s = Scenario.inTempDir("proximadb-dropped-");
  const { cwd, args, ledger } = s;
  const disk3 = (c: string) => `file://${join(cwd, "data", "disk3", c)}`;
  const marker = () => readFileSync(join(cwd, "data", "disk1", "wal", "_proximadb_root.json"), "utf8");
  let created: Record<string, Response> = {};
  const seen = {} as {
    discover: RunResult;
    serve: ServeOutcome;
    retireRefused: RunResult;
    markerBefore: string;
    markerAfterRefusal: string;
    back: ReadBack;
    retired: RunResult[];
    afterRetire: ServeOutcome;
    listedAfterRetire: Response;
    dropRetired: Response;
    comesBack: RunResult;
  };

  beforeAll(async () => {
    writeConfig(cwd);
    const a = await s.start();
    created = await populate(a, ledger);
    await a.stop();

    writeConfig(cwd, withoutDisk("disk3"));
    seen.discover = await s.discover();
    seen.serve = await tryServe(cwd, args);
    if (seen.serve.listening) {
      s.track(seen.serve.node);
      await seen.serve.node.stop();
    }
    seen.markerBefore = marker();
    seen.retireRefused = await s.cli("roots", "retire", disk3("wal"));
    seen.markerAfterRefusal = marker();

    // Configured again: everything it held is served.
    writeConfig(cwd);
    seen.back = await s.readBack();

    // Dropped for good: retired one by one. Every root of disk3 holds collections (the index root too,
    // since every collection has an index), so each needs --force.
    writeConfig(cwd, withoutDisk("disk3"));
    seen.retired = [];
    for (const c of COMPONENTS) seen.retired.push(await s.cli("roots", "retire", disk3(c), "--force"));
    seen.afterRetire = await tryServe(cwd, args);
    if (seen.afterRetire.listening) {
      s.track(seen.afterRetire.node);
      seen.listedAfterRetire = await seen.afterRetire.node.request("GET", "/collections");
      seen.dropRetired = await seen.afterRetire.node.request("DELETE", "/collections/col-4");
      await seen.afterRetire.node.stop();
    }
    // A retired root configured again is foreign: never used again.
    writeConfig(cwd);
    seen.comesBack = await s.discover();
  }, 240_000);

  it("discover exits 3", () => {
    expect(seen.discover.code).toBe(3);
  });

  it("discover reports each dropped root as unconfigured, by component", () => {
    const report = JSON.parse(seen.discover.stdout);
    for (const c of COMPONENTS)
      expect(report.components[c].unconfigured.map((u: { url: string }) => u.url)).toEqual([disk3(c)]);
  });

  it("serve refuses to start: exit 2", () => {
    expect(seen.serve.listening).toBe(false);
    if (!seen.serve.listening) expect(seen.serve.code, seen.serve.stderr).toBe(2);
  });

  it("serve says why in one line naming the URL and what to do", () => {
    if (seen.serve.listening) throw new Error("serve started");
    const lines = seen.serve.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(disk3("wal"));
    expect(lines[0]).toContain("proximadb roots retire");
  });

  it("roots retire refuses a root that holds collections (exit 2, naming how many), changing no marker", () => {
    expect(seen.retireRefused.code).toBe(2);
    expect(seen.retireRefused.stderr).toMatch(/holds 2 collection\(s\)/);
    expect(seen.markerAfterRefusal).toBe(seen.markerBefore);
  });

  itReadsBack("configured again, the disk serves every acknowledged record", seen, 360);

  it("roots retire --force retires each root that still holds collections (exit 0)", () => {
    for (const r of seen.retired) expect(r.code, r.stderr).toBe(0);
  });

  it("records the retirement in the other markers", () => {
    const m = JSON.parse(marker());
    for (const c of COMPONENTS)
      expect(m.roots.find((e: { url: string }) => e.url === disk3(c))?.state).toBe("retired");
  });

  it("serve starts once the dropped roots are retired", () => {
    expect(seen.afterRetire.listening).toBe(true);
  });

  it("after the retirement, collections that kept a component on the retired disk are unavailable", () => {
    const listed = seen.listedAfterRetire.json.collections as { id: string; state: string }[];
    // col-2 and col-5 were defined on the retired metadata root; col-4 keeps its VIPER files there.
    expect(listed.map((c) => c.id)).toEqual(["col-0", "col-1", "col-3", "col-4"]);
    for (const c of listed) {
      const onDisk3 = Object.values(created[c.id]?.json.placements ?? {}).some((p) =>
        (p as { url: string }).url.includes("/disk3/"),
      );
      expect(c.state, c.id).toBe(onDisk3 ? "unavailable" : "available");
    }
    expect(listed.find((c) => c.id === "col-4")?.state).toBe("unavailable");
  });

  it("a collection that kept files on a retired root can be dropped", () => {
    expect(seen.dropRetired.status).toBe(200);
  });

  it("a retired root configured again is foreign (Retired), never used", () => {
    const wal = JSON.parse(seen.comesBack.stdout).components.wal.roots[2];
    expect(wal).toMatchObject({ url: disk3("wal"), status: "foreign" });
    expect(wal.detail).toContain("Retired");
  });
});
