/**
 * Issue #13, scenario 4: creating never deletes. A collection whose definition sat on a lost metadata
 * root is an orphan while that root is away: `POST /collections` for its id answers 409 and its WAL and
 * engine data survive; when the root is back, every acknowledged record is readable. A true orphan (data
 * without a definition, every root online) is listed by `proximadb orphans` with its locations and
 * removed only when asked by name.
 */
import { existsSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RunResult } from "./helpers.js";
import { DIM, type ReadBack, type Response, Scenario, itReadsBack, snapshotTree } from "./roots-support.js";

const ROOTS = ["wal", "viper", "lsm", "index", "metadata"].flatMap((c) =>
  [1, 2, 3].map((d) => join("data", `disk${d}`, c)),
);

describe("a definition on a lost metadata root: its collection is never created over, its data survives", () => {
  const s = Scenario.inTempDir("proximadb-orphan-lost-");
  const { cwd } = s;
  const meta1 = join(cwd, "data", "disk1", "metadata");
  const url = (p: string) => `file://${join(cwd, p)}`;
  const dataOf = () => ({
    wal: snapshotTree(join(cwd, "data", "disk1", "wal", "col-0")),
    viper: snapshotTree(join(cwd, "data", "disk1", "viper", "col-0")),
  });
  const seen = {} as {
    before: ReturnType<typeof dataOf>;
    listed: Response;
    view: Response;
    read: Response;
    recreate: Response;
    stats: Response;
    after: ReturnType<typeof dataOf>;
    orphans: RunResult;
    remove: RunResult;
    afterRemove: ReturnType<typeof dataOf>;
    back: ReadBack;
    listedBack: Response;
  };

  beforeAll(async () => {
    await s.populated();
    seen.before = dataOf();

    renameSync(meta1, `${meta1}.lost`);
    const b = await s.start();
    seen.listed = await b.request("GET", "/collections");
    seen.view = await b.request("GET", "/collections/col-0");
    seen.read = await b.request("GET", "/collections/col-0/records/r0");
    seen.recreate = await b.request("POST", "/collections", { id: "col-0", engine: "viper", dimension: DIM });
    seen.stats = await b.request("GET", "/stats");
    await b.stop();
    seen.after = dataOf();
    seen.orphans = await s.cli("orphans", "--json");
    seen.remove = await s.cli("orphans", "remove", "col-0");
    seen.afterRemove = dataOf();

    if (existsSync(meta1)) renameSync(meta1, `${meta1}.recreated`);
    renameSync(`${meta1}.lost`, meta1);
    ({ back: seen.back, listed: seen.listedBack } = await s.readBackAndList());
  }, 180_000);

  it("has WAL and VIPER data of col-0 on disk1 to lose", () => {
    expect(Object.keys(seen.before.wal).length).toBeGreaterThan(0);
    expect(Object.keys(seen.before.viper).length).toBeGreaterThan(0);
  });

  it("lists the collections defined on the other metadata roots only", () => {
    expect(seen.listed.json.collections.map((c: { id: string }) => c.id)).toEqual([
      "col-1",
      "col-2",
      "col-4",
      "col-5",
    ]);
  });

  it("answers GET /collections/col-0 and its records with 503 naming the offline metadata root, never 404", () => {
    for (const r of [seen.view, seen.read]) {
      expect(r.status).toBe(503);
      expect(r.json.error.message).toContain(url("data/disk1/metadata"));
    }
  });

  it("answers POST /collections for the orphan's id with 409, naming where its data is", () => {
    expect(seen.recreate.status).toBe(409);
    expect(seen.recreate.json.error.message).toContain(url("data/disk1/wal"));
  });

  it("keeps the orphan's WAL and VIPER data exactly as it was", () => {
    expect(seen.after).toEqual(seen.before);
  });

  it("reports the orphans in /stats with their locations", () => {
    const orphan = seen.stats.json.orphans.find((o: { collection: string }) => o.collection === "col-0");
    expect(orphan.locations).toEqual(
      expect.arrayContaining([
        { component: "wal", url: url("data/disk1/wal") },
        { component: "viper", url: url("data/disk1/viper") },
      ]),
    );
  });

  it("proximadb orphans lists both collections defined on the lost root, naming it", () => {
    expect(seen.orphans.code).toBe(0);
    const out = JSON.parse(seen.orphans.stdout);
    expect(out.orphans.map((o: { collection: string }) => o.collection)).toEqual(["col-0", "col-3"]);
    expect(out.orphans[0].reason).toContain(url("data/disk1/metadata"));
    expect(out.offline).toEqual([
      { component: "metadata", url: url("data/disk1/metadata"), status: "missing" },
    ]);
  });

  it("orphans remove refuses while a root that may define it is offline (exit 2), deleting nothing", () => {
    expect(seen.remove.code).toBe(2);
    expect(seen.remove.stderr).toContain(url("data/disk1/metadata"));
    expect(seen.afterRemove).toEqual(seen.before);
  });

  itReadsBack("when the metadata root is back, every acknowledged record is readable", seen, 360);

  it("when the metadata root is back, every collection is listed and available", () => {
    const listed = seen.listedBack.json.collections;
    expect(listed.map((c: { id: string }) => c.id)).toEqual([
      "col-0",
      "col-1",
      "col-2",
      "col-3",
      "col-4",
      "col-5",
    ]);
    expect(listed.every((c: { state: string }) => c.state === "available")).toBe(true);
  });
});

describe("a true orphan (data, no definition, every root online) is removed only when asked by name", () => {
  const s = Scenario.inTempDir("proximadb-orphan-");
  const { cwd, ledger } = s;
  const url = (p: string) => `file://${join(cwd, p)}`;
  const dirsOf = (id: string) => ROOTS.filter((r) => existsSync(join(cwd, r, id)));
  const seen = {} as {
    recreate: Response;
    dirsBefore: string[];
    orphans: RunResult;
    notOrphan: RunResult;
    remove: RunResult;
    dirsAfter: string[];
    created: Response;
    oldRecord: Response;
    others: { checked: number; wrong: string[] };
  };

  beforeAll(async () => {
    await s.populated();
    // An interrupted drop: the definition is gone, the data is not.
    rmSync(join(cwd, "data", "disk3", "metadata", "col-2", "collection.json"));

    const b = await s.start();
    seen.recreate = await b.request("POST", "/collections", { id: "col-2", engine: "lsm", dimension: DIM });
    await b.stop();
    seen.dirsBefore = dirsOf("col-2");
    seen.orphans = await s.cli("orphans", "--json");
    seen.notOrphan = await s.cli("orphans", "remove", "col-1");
    seen.remove = await s.cli("orphans", "remove", "col-2");
    seen.dirsAfter = dirsOf("col-2");

    const c = await s.start();
    seen.created = await c.request("POST", "/collections", { id: "col-2", engine: "lsm", dimension: DIM });
    seen.oldRecord = await c.request("GET", "/collections/col-2/records/r0");
    seen.others = await ledger.verify(c, ["col-0", "col-1", "col-3", "col-4", "col-5"]);
    await c.stop();
  }, 180_000);

  it("answers POST /collections for the orphan with 409 and deletes nothing", () => {
    expect(seen.recreate.status).toBe(409);
    // Every component that holds the collection's data, the index included.
    expect(seen.dirsBefore).toEqual([
      "data/disk3/wal",
      "data/disk2/viper",
      "data/disk3/index",
      "data/disk3/metadata",
    ]);
  });

  it("proximadb orphans lists it with every location of its data", () => {
    const out = JSON.parse(seen.orphans.stdout);
    expect(out.orphans).toHaveLength(1);
    expect(out.orphans[0]).toMatchObject({
      collection: "col-2",
      reason: "data without a collection definition",
    });
    expect(
      out.orphans[0].locations.map((l: { component: string; url: string }) => `${l.component} ${l.url}`),
    ).toEqual([
      `wal ${url("data/disk3/wal")}`,
      `viper ${url("data/disk2/viper")}`,
      `index ${url("data/disk3/index")}`,
      `metadata ${url("data/disk3/metadata")}`,
    ]);
    expect(out.offline).toEqual([]);
  });

  it("orphans remove refuses an id that is not an orphan (exit 2)", () => {
    expect(seen.notOrphan.code).toBe(2);
    expect(seen.notOrphan.stderr).toContain("not an orphan");
  });

  it("orphans remove <id> deletes its data from every root (exit 0)", () => {
    expect(seen.remove.code, seen.remove.stderr).toBe(0);
    expect(seen.dirsAfter).toEqual([]);
  });

  it("the id can be created again afterwards, without its old records", () => {
    expect(seen.created.status).toBe(201);
    expect(seen.oldRecord.status).toBe(404);
  });

  it("touches no other collection (300 records read back)", () => {
    expect(seen.others).toEqual({ checked: 300, wrong: [] });
  });
});
