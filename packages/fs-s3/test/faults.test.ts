import { createHash } from "node:crypto";
import { FsError, listAll } from "@proximadb/core";
import { createFaultProxy, type FaultProxy } from "@proximadb/testing/fault-proxy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { S3FileSystem } from "../src/index.js";
import { openFresh, s3rver } from "./support/s3.js";

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

function body(key: string, version: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const seed = sha(Buffer.from(`${key}#${version}`));
  for (let i = 0; i < size; i++) out[i] = seed.charCodeAt(i % seed.length) ^ (i & 0xff);
  return out;
}

// 20 % of requests answered 503 SlowDown and 5 % reset, by seeded dice: every operation must either succeed
// through the SDK's own retries (maxAttempts 5) or fail with a retryable typed FsError, and every object
// that exists afterwards must hold exactly the bytes of one complete write.
describe("S3FileSystem through a fault proxy (20 % 503, 5 % resets)", () => {
  let proxy: FaultProxy;
  let fs: S3FileSystem;
  const written = new Map<string, Set<string>>(); // key -> digests of every body a write of it attempted
  const outcomes = { ok: 0, retryableFailures: 0 };

  beforeAll(async () => {
    proxy = await createFaultProxy({ target: s3rver().endpoint, errorRate: 0.2, resetRate: 0.05, seed: 42 });
    fs = openFresh(
      { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, queueSize: 2, maxAttempts: 5 },
      proxy.url,
    );
  });
  afterAll(async () => {
    await fs.close();
    await proxy.close();
  });

  async function op(run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
      outcomes.ok++;
    } catch (err) {
      expect(err, String(err)).toBeInstanceOf(FsError);
      expect((err as FsError).retryable, (err as FsError).message).toBe(true);
      expect((err as FsError).kind).toBe("Transient");
      outcomes.retryableFailures++;
    }
  }
  function attempt(key: string, data: Uint8Array): Uint8Array {
    const set = written.get(key) ?? new Set<string>();
    set.add(sha(data));
    written.set(key, set);
    return data;
  }

  it("runs a workload of writes (incl. multipart), reads, lists, moves and deletes: each op succeeds or fails retryably", async () => {
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) {
        const key = `w/small-${i}`;
        await op(() => fs.write(key, attempt(key, body(key, round, 1000 + i * 37))));
      }
      const big = `w/big-${round % 2}`;
      await op(() => fs.write(big, attempt(big, body(big, round, 11 * MiB + 5))));
      for (let i = 0; i < 8; i++) await op(() => fs.read(`w/small-${i}`).catch(ignoreNotFound));
      await op(() => listAll(fs, "w/"));
      await op(() => listAll(fs, "", { delimiter: true }));
      const from = `w/small-${round}`;
      const to = `moved/small-${round}`;
      const fromBodies = written.get(from) ?? new Set<string>();
      written.set(to, new Set([...(written.get(to) ?? []), ...fromBodies]));
      await op(() => fs.move(from, to).catch(ignoreNotFound));
      await op(() => fs.delete(`w/small-${7 - round}`));
      await op(() => fs.deleteMany([`w/small-${6 - round}`, "w/never-there"]));
    }
    expect(outcomes.ok).toBeGreaterThan(0);
    // The dice really did fire: the SDK got 503s and resets, and retried through them.
    expect(proxy.stats.injectedErrors).toBeGreaterThan(10);
    expect(proxy.stats.resets).toBeGreaterThan(0);
  });

  it("leaves no half-written object: every object that exists holds exactly one complete write", async () => {
    proxy.setFaults({ errorRate: 0, resetRate: 0 });
    const { files } = await listAll(fs, "");
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const digests = written.get(f.key);
      expect(digests, `unexpected key ${f.key}`).toBeDefined();
      expect(digests?.has(sha(await fs.read(f.key))), `${f.key} holds bytes no single write produced`).toBe(
        true,
      );
    }
  });
});

function ignoreNotFound(err: unknown): void {
  if (err instanceof FsError && err.kind === "NotFound") return;
  throw err;
}
