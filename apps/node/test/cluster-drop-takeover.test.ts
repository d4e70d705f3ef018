/**
 * Issue #15: a drop interrupted in cluster mode (the owner died after its tombstone) is completed by the
 * new owner at takeover, through real `proximadb serve` processes on one etcd and the same local roots.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectEtcd } from "@proximadb/store-etcd";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIM, TestCluster, call, vectorOf } from "./cluster-support.js";

const DIRS = ["disk1/viper", "disk2/viper", "disk1/wal", "disk2/wal", "disk1/meta"];

describe("cluster: the new owner completes an interrupted drop at takeover", () => {
  let cluster: TestCluster;
  const found = { before: [] as string[], after: [] as string[], listed: true, acked: 0, epoch: 0 };

  beforeAll(async () => {
    cluster = await TestCluster.start(["A", "B"]);
    const a = cluster.node("A");
    const made = await call(a.url, "POST", "/collections", { id: "d-1", dimension: DIM, engine: "viper" });
    if (made.status !== 201) throw new Error(`create: ${made.status}`);
    found.epoch = (await call(a.url, "GET", "/collections/d-1")).json.epoch;
    for (let n = 0; n < 10; n++) {
      const put = await call(a.url, "POST", "/collections/d-1/records", {
        records: [{ id: `r-${n}`, vector: vectorOf(n) }],
      });
      if (put.status === 200) found.acked++;
    }
    // A died right after its drop's first step: the durable tombstone, nothing deleted yet.
    const tombstone = { format: 1, droppedAt: new Date().toISOString() };
    writeFileSync(join(cluster.dir, "disk1/meta/d-1/dropping.json"), JSON.stringify(tombstone));
    found.before = DIRS.filter((d) => existsSync(join(cluster.dir, d, "d-1")));
    await a.stop("SIGKILL");
    const b = cluster.node("B");
    await cluster.waitFor(
      () => b.logs.some((l) => l.includes("interrupted drop completed at takeover") && l.includes("d-1")),
      "B completed the drop",
    );
    found.after = DIRS.filter((d) => existsSync(join(cluster.dir, d, "d-1")));
    const list = await call(b.url, "GET", "/collections");
    found.listed = (list.json.collections as { id: string }[]).some((c) => c.id === "d-1");
  }, 60_000);
  afterAll(async () => cluster?.stop());

  it("A's collection had its files and acknowledged records before the kill", () => {
    expect(found.acked).toBe(10);
    expect(found.before).toContain("disk1/meta");
    expect(found.before.some((d) => d.endsWith("viper"))).toBe(true);
  });

  it("B deleted every component's files and the collection is gone", () => {
    expect(found.after).toEqual([]);
    expect(found.listed).toBe(false);
  });

  it("the owner key is retired, and a re-create starts above every earlier epoch", async () => {
    const b = cluster.node("B");
    const etcd = connectEtcd({ hosts: [cluster.etcd.endpoint] });
    try {
      expect(await etcd.get("/proximadb/test/owners/d-1").string()).toBeNull();
      const epoch = JSON.parse((await etcd.get("/proximadb/test/epochs/d-1").string()) as string);
      expect(epoch).toMatchObject({ dropped: true });
      expect(epoch.epoch).toBeGreaterThan(found.epoch);
    } finally {
      etcd.close();
    }
    const again = await call(b.url, "POST", "/collections", { id: "d-1", dimension: DIM, engine: "viper" });
    expect(again.status).toBe(201);
    const got = await call(b.url, "GET", "/collections/d-1/records/r-1");
    expect(got.status).toBe(404);
  });
});
