/**
 * Issue #15 through real `proximadb serve` processes on one etcd and the same local roots:
 * - "another writer's staging is abandoned when its owner key is gone": node A holds staged files of the
 *   collections it owns; A is killed (-9); B takes them over, and A's staging is gone while every record
 *   acknowledged before the kill reads back through B;
 * - a drop in cluster mode removes the collection's owner key and keeps its epoch counter (marked
 *   dropped): no node takes the dropped collection over, and a re-create starts at a higher epoch.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectEtcd } from "@proximadb/store-etcd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIM, TestCluster, call, vectorOf } from "./cluster-support.js";

/** The roots (relative to the cluster folder) a collection's files may be in, per engine. */
const ROOTS = { viper: ["disk1/viper", "disk2/viper"], lsm: ["disk1/lsm"] } as const;

describe("cluster: a takeover removes the old owner's staging; a drop retires the owner key", () => {
  let cluster: TestCluster;
  // What the scenario saw: A's collections, the staged files placed for them, those left after B's takeover.
  const seen = { ownedByA: [] as string[], staged: [] as string[], stagingLeft: [] as string[] };
  const checked = { acked: 0, missing: [] as string[] };

  beforeAll(async () => {
    cluster = await TestCluster.start(["A", "B"]);
    const a = cluster.node("A");
    // Created through A: A claims each (the owner key is made with the placement).
    const ids = ["s-0", "s-1", "s-2"];
    for (const [i, id] of ids.entries()) {
      const created = await call(a.url, "POST", "/collections", {
        id,
        dimension: DIM,
        engine: i === 2 ? "lsm" : "viper",
      });
      if (created.status !== 201) throw new Error(`create ${id}: ${created.status}`);
    }
    const owners = await cluster.owners(a);
    seen.ownedByA = ids.filter((id) => owners.get(id)?.owner === "A");
    const acked = new Map<string, string[]>();
    for (const id of seen.ownedByA) {
      for (let n = 0; n < 20; n++) {
        const put = await call(a.url, "POST", `/collections/${id}/records`, {
          records: [{ id: `r-${n}`, vector: vectorOf(n) }],
        });
        if (put.status === 200) acked.set(id, [...(acked.get(id) ?? []), `r-${n}`]);
      }
      // A's in-flight staging of the collection: the layout, and an old-style name in A's folder.
      const engine = ids.indexOf(id) === 2 ? "lsm" : "viper";
      for (const root of ROOTS[engine]) {
        const dir = join(cluster.dir, root, id);
        if (!existsSync(dir)) continue;
        mkdirSync(join(dir, "_staging", "A"), { recursive: true });
        for (const name of ["0000000001-flush-99", "flush-7"]) {
          writeFileSync(join(dir, "_staging", "A", name), "staged by A");
          seen.staged.push(join(root, id, "_staging", "A", name));
        }
      }
    }
    checked.acked = [...acked.values()].reduce((n, l) => n + l.length, 0);
    await cluster.node("A").stop("SIGKILL");
    const b = cluster.node("B");
    await cluster.waitFor(async () => {
      const now = await cluster.owners(b);
      return seen.ownedByA.every((id) => now.get(id)?.owner === "B");
    }, "B took A's collections over");
    for (const [id, records] of acked) {
      for (const r of records) {
        let got = await call(b.url, "GET", `/collections/${id}/records/${r}`);
        for (let t = 0; t < 50 && got.status === 503; t++) {
          await new Promise((res) => setTimeout(res, 100));
          got = await call(b.url, "GET", `/collections/${id}/records/${r}`);
        }
        if (
          got.status !== 200 ||
          JSON.stringify(got.json?.vector) !== JSON.stringify(vectorOf(Number(r.slice(2))))
        )
          checked.missing.push(`${id}/${r} (${got.status})`);
      }
    }
    seen.stagingLeft = seen.staged.filter((f) => existsSync(join(cluster.dir, f)));
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it("A owned collections with staged files when it was killed", () => {
    expect(seen.ownedByA.length).toBeGreaterThan(0);
    expect(seen.staged.length).toBeGreaterThanOrEqual(2 * seen.ownedByA.length);
  });

  it("B's takeover removed A's staging of them", () => {
    expect(seen.stagingLeft).toEqual([]);
    for (const f of seen.staged) {
      const folder = join(cluster.dir, f, "..");
      expect(existsSync(folder) ? readdirSync(folder) : []).toEqual([]);
    }
  });

  it("every record acknowledged by A reads back exactly through B", () => {
    console.log(`cluster staging: acknowledged records checked: ${checked.acked}`);
    expect(checked.acked).toBe(20 * seen.ownedByA.length);
    expect(checked.missing).toEqual([]);
  });

  it("a drop removes the owner key, keeps the epoch marked dropped, and a re-create starts above it", async () => {
    const b = cluster.node("B");
    const etcd = connectEtcd({ hosts: [cluster.etcd.endpoint] });
    try {
      const created = await call(b.url, "POST", "/collections", {
        id: "d-0",
        dimension: DIM,
        engine: "viper",
      });
      expect(created.status).toBe(201);
      const before = await call(b.url, "GET", "/collections/d-0");
      expect(before.json).toMatchObject({ owner: "B" });
      const epoch = before.json.epoch as number;
      expect((await call(b.url, "DELETE", "/collections/d-0")).status).toBeLessThan(300);
      expect(await etcd.get("/proximadb/test/owners/d-0").string()).toBeNull();
      expect(JSON.parse((await etcd.get("/proximadb/test/epochs/d-0").string()) as string)).toEqual({
        v: 1,
        epoch,
        dropped: true,
      });
      const again = await call(b.url, "POST", "/collections", { id: "d-0", dimension: DIM, engine: "viper" });
      expect(again.status).toBe(201);
      const after = await call(b.url, "GET", "/collections/d-0");
      expect(after.json).toMatchObject({ owner: "B" });
      expect(after.json.epoch).toBeGreaterThan(epoch);
    } finally {
      etcd.close();
    }
  });
});
