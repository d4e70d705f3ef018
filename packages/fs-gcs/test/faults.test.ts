// Fault tier: 20 % of requests answered 503 and 5 % reset by a proxy between the client and the server.
import { FsError, listAll } from "@proximadb/core";
import { type GcsServer, startGcsServer } from "@proximadb/testing/emulators/gcs-server";
import { type FaultProxy, createFaultProxy } from "@proximadb/testing/fault-proxy";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GcsFileSystem } from "../src/index.js";

const BUCKET = "fault-tier";
let gcs: GcsServer;
let proxy: FaultProxy;
let faulty: GcsFileSystem;
let direct: GcsFileSystem;
const escaped: unknown[] = [];
const onEscape = (err: unknown) => escaped.push(err);

beforeAll(async () => {
  // An uncaught exception or unhandled rejection would crash a storage node: none may escape.
  process.on("uncaughtException", onEscape);
  process.on("unhandledRejection", onEscape);
  gcs = await startGcsServer({ buckets: [BUCKET] });
  proxy = await createFaultProxy({ target: gcs.endpoint, errorRate: 0.2, resetRate: 0.05, seed: 7 });
  const tuning = { resumableThresholdBytes: 256 * 1024, resumableChunkBytes: 256 * 1024 };
  // The client's own retries (1 s apart: save() goes through async-retry, whose minimum delay is 1 s).
  faulty = new GcsFileSystem(`gcs://${BUCKET}/faults`, {
    apiEndpoint: proxy.url,
    retryOptions: { maxRetries: 8, retryDelayMultiplier: 1, maxRetryDelay: 1 },
    // No write may hang: past this deadline it fails Transient (the test's own timeout is 120 s).
    uploadTimeoutMs: 60_000,
    ...tuning,
  });
  direct = new GcsFileSystem(`gcs://${BUCKET}/faults`, { apiEndpoint: gcs.endpoint, ...tuning });
});
afterEach(() => expect(escaped, "uncaught exceptions / unhandled rejections").toEqual([]));
afterAll(async () => {
  process.off("uncaughtException", onEscape);
  process.off("unhandledRejection", onEscape);
  await proxy?.close();
  await gcs?.stop();
});

/** Runs an operation: it succeeds, or fails with a retryable typed error. Returns whether it succeeded. */
async function succeedsOrRetryable<T>(op: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await op() };
  } catch (err) {
    expect(err).toBeInstanceOf(FsError);
    expect((err as FsError).retryable, `${(err as FsError).kind}: ${(err as FsError).message}`).toBe(true);
    return { ok: false };
  }
}

const body = (i: number, size: number) => Buffer.alloc(size, i % 251);
/** Every 4-byte word holds its offset (plus a per-object salt): a misplaced or repeated chunk shows. */
function patterned(salt: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let o = 0; o + 4 <= size; o += 4) b.writeUInt32BE((o + salt * 7919) >>> 0, o);
  return b;
}

describe("fs-gcs under 20 % 503s and 5 % connection resets", () => {
  it("every write, read, stat, list, move and delete succeeds through retries or fails retryable; nothing is half-written", async () => {
    const small = Array.from({ length: 30 }, (_, i) => ({ key: `small/k-${i}`, data: body(i, 1000 + i) }));
    // Above the 256 KiB threshold: resumable sessions of 2 to 4 chunks of 256 KiB (write() and writeStream()).
    const large = Array.from({ length: 10 }, (_, i) => ({
      key: `large/k-${i}`,
      data: patterned(i, 2 * 256 * 1024 + (i % 3) * 256 * 1024 + 1000 * i),
    }));
    const written = await Promise.all(
      [...small, ...large].map(async (w, i) => ({
        ...w,
        ok: (
          await succeedsOrRetryable<unknown>(() =>
            i % 2 === 0
              ? faulty.write(w.key, w.data)
              : faulty.writeStream(
                  w.key,
                  (async function* () {
                    for (let o = 0; o < w.data.length; o += 64 * 1024)
                      yield w.data.subarray(o, o + 64 * 1024);
                  })(),
                ),
          )
        ).ok,
      })),
    );
    expect(proxy.stats.injectedErrors + proxy.stats.resets).toBeGreaterThan(0);
    expect(written.filter((w) => w.ok).length).toBeGreaterThan(written.length / 2);
    // Resumable sessions ran through the faults, and some of them completed.
    expect(gcs.requests.byRoute["objects.insert.resumable.chunk"]).toBeGreaterThan(large.length);
    expect(written.filter((w) => w.ok && w.key.startsWith("large/")).length).toBeGreaterThan(0);

    // Reads, stats, listings and moves through the faults.
    for (const w of written.filter((x) => x.ok).slice(0, 12)) {
      const read = await succeedsOrRetryable(() => faulty.read(w.key));
      if (read.ok) expect(Buffer.from(read.value).equals(w.data)).toBe(true);
      const stat = await succeedsOrRetryable(() => faulty.stat(w.key));
      if (stat.ok) expect(stat.value.size).toBe(w.data.length);
    }
    const listed = await succeedsOrRetryable(() => listAll(faulty, "", { pageSize: 7 }));
    if (listed.ok)
      expect(listed.value.files.map((f) => f.key).sort()).toEqual(
        written
          .filter((w) => w.ok)
          .map((w) => w.key)
          .sort(),
      );
    const moves = await Promise.all(
      written
        .filter((w) => w.ok && w.key.startsWith("small/"))
        .slice(0, 6)
        .map((w) =>
          succeedsOrRetryable(() => faulty.move(w.key, `moved/${w.key}`)).then((r) => ({ w, ...r })),
        ),
    );
    const deleted = await succeedsOrRetryable(() =>
      faulty.deleteMany(written.slice(20, 26).map((w) => w.key)),
    );

    // Without faults: every acknowledged write is there in full, and nothing present is partial.
    const byKey = new Map(written.map((w) => [w.key, w]));
    const { files } = await listAll(direct, "");
    for (const f of files) {
      const original = byKey.get(f.key.replace(/^moved\//, ""));
      expect(original, `unexpected key ${f.key}`).toBeDefined();
      expect(
        Buffer.from(await direct.read(f.key)).equals(original?.data as Buffer),
        `${f.key} is complete`,
      ).toBe(true);
    }
    for (const m of moves) {
      const atSource = await direct.exists(m.w.key);
      const atTarget = await direct.exists(`moved/${m.w.key}`);
      // An atomic move leaves the object in exactly one place, whatever the client saw.
      expect(atSource !== atTarget, m.w.key).toBe(true);
      if (m.ok) expect(atTarget).toBe(true);
    }
    const present = new Set(files.map((f) => f.key));
    for (const w of written) {
      const moved = moves.find((m) => m.w.key === w.key);
      const removed = deleted.ok && written.indexOf(w) >= 20 && written.indexOf(w) < 26;
      if (w.ok && !removed)
        expect(present.has(w.key) || (moved !== undefined && present.has(`moved/${w.key}`)), w.key).toBe(
          true,
        );
    }
  }, 120_000);
});
