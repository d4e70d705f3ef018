/**
 * Issue #13, scenario 2: a disk is unmounted — its WAL root is now an empty folder (a bare mount point).
 * The node must not write into it, must answer 503 (never 404, never an acknowledgement) for the
 * collections that live there while the others keep serving, and when the disk is mounted again every
 * acknowledged record is readable.
 */
import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "./helpers.js";
import { DIM, type ReadBack, type Response, Scenario, populate, writeConfig } from "./roots-support.js";

describe("an unmounted disk (its WAL root is an empty folder): never written, its collections unavailable", () => {
  const s = Scenario.inTempDir("proximadb-unmounted-");
  const { cwd, ledger } = s;
  const walRoot = join(cwd, "data", "disk2", "wal");
  const walUrl = `file://${walRoot}`;
  let away: string[] = [];
  let healthy: string[] = [];
  const seen = {} as {
    discover: RunResult;
    listed: Response;
    view: Response;
    read: Response;
    write: Response;
    deleted: Response;
    flush: Response;
    drop: Response;
    recreate: Response;
    createNew: Response;
    healthyWrite: Response;
    healthyRead: { checked: number; wrong: string[] };
    mountPoint: string[];
    back: ReadBack;
    listedBack: Response;
  };

  beforeAll(async () => {
    writeConfig(cwd);
    const a = await s.start();
    const created = await populate(a, ledger);
    away = Object.keys(created).filter((id) => created[id]?.json.placements.wal.url === walUrl);
    healthy = Object.keys(created).filter((id) => !away.includes(id));
    await a.stop();

    // The disk is unmounted: the mount point is there, empty, without its marker.
    renameSync(walRoot, `${walRoot}.unmounted`);
    mkdirSync(walRoot);
    seen.discover = await s.discover();
    const b = await s.start();
    const id = away[0] as string;
    seen.listed = await b.request("GET", "/collections");
    seen.view = await b.request("GET", `/collections/${id}`);
    seen.read = await b.request("GET", `/collections/${id}/records/r0`);
    seen.write = await ledger.put(b, id, 1000, 10);
    seen.deleted = await b.request("DELETE", `/collections/${id}/records/r1`);
    seen.flush = await b.request("POST", `/collections/${id}/flush`);
    seen.drop = await b.request("DELETE", `/collections/${id}`);
    seen.recreate = await b.request("POST", "/collections", { id, engine: "lsm", dimension: DIM });
    seen.createNew = await b.request("POST", "/collections", { id: "fresh", engine: "lsm", dimension: DIM });
    seen.healthyWrite = await ledger.put(b, healthy[0] as string, 1000, 20);
    seen.healthyRead = await ledger.verify(b, healthy);
    await b.stop();
    seen.mountPoint = readdirSync(walRoot);

    // The disk is mounted again (whatever was written into the bare mount point is hidden by it).
    renameSync(walRoot, `${walRoot}.hidden`);
    renameSync(`${walRoot}.unmounted`, walRoot);
    ({ back: seen.back, listed: seen.listedBack } = await s.readBackAndList());
  }, 180_000);

  it("places two of the six collections' WALs on the disk that goes away", () => {
    expect(away).toHaveLength(2);
  });

  it("discover exits 3 and reports the bare mount point as empty", () => {
    expect(seen.discover.code).toBe(3);
    const wal = JSON.parse(seen.discover.stdout).components.wal.roots[1];
    expect(wal).toMatchObject({ url: walUrl, status: "empty" });
  });

  it("lists every collection; those on the unmounted disk are unavailable with the root's URL and reason", () => {
    const listed = seen.listed.json.collections as { id: string; state: string; offline?: unknown[] }[];
    expect(listed.map((c) => c.id).sort()).toEqual([...away, ...healthy].sort());
    for (const c of listed) {
      if (away.includes(c.id)) {
        expect(c.state).toBe("unavailable");
        expect(c.offline).toEqual([
          { component: "wal", url: walUrl, status: "empty", reason: expect.stringContaining("empty") },
        ]);
      } else expect(c.state).toBe("available");
    }
  });

  it("GET /collections/:id shows the collection as unavailable (not 404)", () => {
    expect(seen.view.status).toBe(200);
    expect(seen.view.json).toMatchObject({ id: away[0], state: "unavailable" });
  });

  it("answers a read of its acknowledged record with 503 unavailable naming the root, never 404", () => {
    expect(seen.read.status).toBe(503);
    expect(seen.read.json.error.kind).toBe("unavailable");
    expect(seen.read.json.error.message).toContain(walUrl);
    expect(seen.read.json.error.roots[0]).toMatchObject({ component: "wal", url: walUrl, status: "empty" });
  });

  it("refuses writes, deletes, flushes and a drop with 503: nothing is acknowledged", () => {
    for (const r of [seen.write, seen.deleted, seen.flush, seen.drop]) {
      expect(r.status).toBe(503);
      expect(r.json.error.message).toContain(walUrl);
    }
  });

  it("answers POST /collections for that id with 409", () => {
    expect(seen.recreate.status).toBe(409);
  });

  it("creates no new collection while a root it could be placed in is offline (503 naming it)", () => {
    expect(seen.createNew.status).toBe(503);
    expect(seen.createNew.json.error.message).toContain(walUrl);
  });

  it("keeps serving the collections on healthy roots: writes acknowledged, every record read back", () => {
    expect(seen.healthyWrite.status).toBe(200);
    expect(seen.healthyRead.wrong).toEqual([]);
    expect(seen.healthyRead.checked).toBe(ledger.count(healthy));
  });

  it("writes nothing into the bare mount point: not a marker, a folder or a segment", () => {
    expect(seen.mountPoint).toEqual([]);
  });

  it("when the disk is back, reads every acknowledged record exactly (380 records)", () => {
    expect(seen.back.wrong).toEqual([]);
    expect(seen.back.checked).toBe(ledger.count());
    expect(seen.back.checked).toBe(6 * 60 + 20);
  });

  it("when the disk is back, every collection is available again", () => {
    const states = seen.listedBack.json.collections.map((c: { state: string }) => c.state);
    expect(states).toEqual(Array(6).fill("available"));
  });
});
