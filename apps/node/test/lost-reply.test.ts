import { type FaultProxy, createFaultProxy } from "@proximadb/testing/fault-proxy";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { itAnswers } from "./answers.js";
import { type InProcessNode, openInProcess } from "./in-process.js";

type Answer = Awaited<ReturnType<InProcessNode["call"]>>;

/**
 * A write whose durability is unknown: the WAL's segment PUT reaches s3rver, but every answer is lost on
 * the way back (a fault proxy resets the connection once s3rver answered), so the node cannot tell whether
 * the records are durable. It says so — 503 `unavailable`, `retryable` — and never answers a plain 500.
 */
describe("a write whose WAL object store answer is lost (s3rver behind a fault proxy)", () => {
  let s3: S3rverInstance;
  let proxy: FaultProxy;
  let n: InProcessNode;
  const seen = {} as Record<"before" | "lost" | "after" | "read", Answer>;

  beforeAll(async () => {
    s3 = await startS3rver({ buckets: ["proximadb-wal"] });
    proxy = await createFaultProxy({ target: s3.endpoint });
    vi.stubEnv("AWS_ACCESS_KEY_ID", s3.credentials.accessKeyId);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", s3.credentials.secretAccessKey);
    n = await openInProcess(
      (t) =>
        `${t.replace(/wal_urls = \[[^\]]*\]/, 'wal_urls = ["s3://proximadb-wal/node"]')}
[backends.s3]
endpoint = "${proxy.url}"
region = "${s3.region}"
force_path_style = true
max_attempts = 2
`,
    );
    await n.call("POST", "/collections", { id: "docs", engine: "lsm", dimension: 2 });
    seen.before = await n.call("POST", "/collections/docs/records", {
      records: [{ id: "a", vector: [1, 2] }],
    });
    proxy.setFaults({ lostReplyRate: 1, methods: ["PUT"] });
    seen.lost = await n.call("POST", "/collections/docs/records", { records: [{ id: "b", vector: [3, 4] }] });
    proxy.setFaults({ lostReplyRate: 0, methods: undefined });
    seen.after = await n.call("POST", "/collections/docs/records", {
      records: [{ id: "b", vector: [3, 4] }],
    });
    seen.read = await n.call("GET", "/collections/docs/records/b");
  }, 120_000);

  afterAll(async () => {
    await n?.close();
    await proxy?.close();
    await s3?.stop();
    vi.unstubAllEnvs();
  });

  itAnswers(seen, [["acknowledges writes while the answers arrive", { before: 200 }]]);

  it("answers a write whose every answer was lost with 503 unavailable, retryable, saying durability is unknown", () => {
    expect(proxy.stats.lostReplies).toBeGreaterThan(0);
    expect(seen.lost.status).toBe(503);
    expect(seen.lost.json.error).toMatchObject({ kind: "unavailable", retryable: true });
    expect(seen.lost.json.error.message).toContain("may or may not be durable");
  });

  it("accepts the retried write once the answers arrive again, and reads it back", () => {
    expect(seen.after.status).toBe(200);
    expect(seen.read.json).toEqual({ id: "b", vector: [3, 4], metadata: null });
  });
});
