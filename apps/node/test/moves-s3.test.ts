import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type InProcessNode, openInProcess } from "./in-process.js";

const BUCKET = "proximadb-moves";
const DIM = 3;
const vec = (n: number) => [n, n + 0.5, n + 0.25];

describe("moves between local disk and S3 (s3rver) through the node, under writes", () => {
  let s3: S3rverInstance;
  let n: InProcessNode | undefined;
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [BUCKET] });
    vi.stubEnv("AWS_ACCESS_KEY_ID", s3.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", s3.credentials.secretAccessKey);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await s3?.stop();
  });
  afterEach(async () => {
    await n?.close();
    n = undefined;
  });

  const toml = () =>
    [
      `[storage.wal_config]\nwal_urls = ["file://data/disk1/wal", "s3://${BUCKET}/wal"]`,
      `[storage.viper_config]\ndata_urls = ["file://data/disk1/viper", "s3://${BUCKET}/viper"]\ndistribution_strategy = "RoundRobin"`,
      `[storage.lsm_config]\ndata_urls = ["file://data/disk1/lsm", "s3://${BUCKET}/lsm"]`,
      `[storage.metadata_config]\nmetadata_urls = ["file://data/disk1/metadata"]`,
      `[server]\nport = 0`,
      `[engine]\nflush_threshold_bytes = 4096\nbackground_interval_ms = 20`,
      `[backends.s3]\nendpoint = "${s3.endpoint}"\nregion = "${s3.region}"\nforce_path_style = true\nmax_attempts = 2`,
    ].join("\n\n");

  async function settle(id: string) {
    for (;;) {
      const v = (await (n as InProcessNode).call("GET", `/moves/${id}`)).json.move;
      if (v.state === "done" || v.state === "failed") return v;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it("moves a VIPER collection and its WAL file:// → s3:// and the VIPER files back; every acked record reads back, also after a restart", async () => {
    n = await openInProcess(() => toml());
    const node = n;
    expect(
      (await node.call("POST", "/collections", { id: "t1", engine: "viper", dimension: DIM })).status,
    ).toBe(201);
    const acked = new Set<number>();
    let stop = false;
    let next = 0;
    const writer = (async () => {
      while (!stop) {
        const batch = [next++, next++, next++];
        const r = await node.call("POST", "/collections/t1/records", {
          records: batch.map((i) => ({ id: `r${i}`, vector: vec(i) })),
        });
        if (r.status !== 200) throw new Error(`put answered ${r.status}: ${JSON.stringify(r.json)}`);
        for (const i of batch) acked.add(i);
      }
    })();
    await new Promise((r) => setTimeout(r, 150));
    const local = node.node.service.get("t1", "viper")?.url as string;
    expect(local).toMatch(/^file:/);
    const plan: [string, string][] = [
      ["viper", `s3://${BUCKET}/viper`],
      ["wal", `s3://${BUCKET}/wal`],
      ["viper", local],
    ];
    for (const [component, to] of plan) {
      const started = await node.call("POST", "/collections/t1/moves", { component, to });
      expect(started.status).toBe(202);
      const done = await settle(started.json.move.id);
      expect(done.state, done.error).toBe("done");
      expect(node.node.service.get("t1", component as "wal")?.url).toBe(to);
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await writer;
    const check = async (m: InProcessNode) => {
      const missing: number[] = [];
      for (const i of acked) {
        const r = await m.call("GET", `/collections/t1/records/r${i}`);
        if (r.status !== 200 || JSON.stringify(r.json.vector) !== JSON.stringify(vec(i))) missing.push(i);
      }
      return missing;
    };
    expect(await check(node)).toEqual([]);
    const dir = node.dir;
    await node.close();
    n = await openInProcess(() => toml(), { dir });
    expect(n.node.service.get("t1", "wal")?.url).toBe(`s3://${BUCKET}/wal`);
    expect(n.node.service.get("t1", "viper")?.url).toBe(local);
    expect(await check(n)).toEqual([]);
  });
});
