/**
 * Three nodes with their WAL on s3rver (an object store: one object per group commit, no appends) and
 * their engines on local disk (issue #15): kill -9 of an owner mid-ingest; every acknowledged record is
 * read back from the survivors, and again after every node restarted.
 */
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TestCluster, Writers, createCollections, missingAcked } from "./cluster-support.js";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe("three nodes, WAL on s3rver: kill -9 of an owner mid-ingest", () => {
  let s3: S3rverInstance;
  let cluster: TestCluster;
  const seen = {
    victimCollections: [] as string[],
    acked: 0,
    missing: [] as string[],
    afterRestart: [] as string[],
  };

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ["proximadb-wal"] });
    // Secrets only from the environment (the children inherit it).
    vi.stubEnv("AWS_ACCESS_KEY_ID", s3.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", s3.credentials.secretAccessKey);
    cluster = await TestCluster.start(["n1", "n2", "n3"], {
      roots: {
        "storage.wal_config": { wal_urls: ["s3://proximadb-wal/a", "s3://proximadb-wal/b"] },
        "storage.viper_config": { data_urls: ["file://disk1/viper"] },
        "storage.lsm_config": { data_urls: ["file://disk1/lsm"] },
        "storage.metadata_config": { metadata_urls: ["file://disk1/meta"] },
        "backends.s3": { endpoint: s3.endpoint, region: s3.region, force_path_style: true, max_attempts: 3 },
      },
    });
    const ids = await createCollections(cluster, 9);
    const writers = new Writers(cluster, ids, 4);
    await sleep(2000);
    const before = await cluster.owners();
    // The node owning the most collections (creations went through random nodes).
    const counts = new Map<string, number>();
    for (const o of before.values()) counts.set(o.owner as string, (counts.get(o.owner as string) ?? 0) + 1);
    const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] as string;
    seen.victimCollections = ids.filter((c) => before.get(c)?.owner === victim);
    const killedAt = Date.now();
    cluster.node(victim).child.kill("SIGKILL");
    await cluster.node(victim).exited;
    await cluster.waitFor(
      () => seen.victimCollections.every((c) => (writers.acked.get(c) ?? []).some((a) => a.at > killedAt)),
      "the killed node's collections written again",
    );
    await writers.stop();
    seen.acked = writers.count;
    seen.missing = await missingAcked(cluster, writers.acked);
    for (const name of ["n1", "n2", "n3"].filter((n) => n !== victim))
      await cluster.node(name).stop("SIGTERM");
    for (const name of ["n1", "n2", "n3"]) await cluster.startNode(name);
    seen.afterRestart = await missingAcked(cluster, writers.acked);
    console.log(`s3rver WAL: acknowledged records checked: ${seen.acked} (twice)`);
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
    await s3?.stop();
    vi.unstubAllEnvs();
  });

  it("the killed node owned some collections", () => {
    expect(seen.victimCollections.length).toBeGreaterThan(0);
  });

  it("reads back every acknowledged record from the survivors", () => {
    expect(seen.acked).toBeGreaterThan(0);
    expect(seen.missing).toEqual([]);
  });

  it("reads back every acknowledged record after every node restarted", () => {
    expect(seen.afterRestart).toEqual([]);
  });
});
