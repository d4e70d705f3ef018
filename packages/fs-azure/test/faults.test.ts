import { createHash } from "node:crypto";
import { FsError, listAll } from "@proximadb/core";
import { createFaultProxy, type FaultProxy } from "@proximadb/testing/fault-proxy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureBlobFileSystem } from "../src/index.js";
import { azurite, freshRoot, rawContainer } from "./helpers.js";

// The fault tier: the SDK talks to Azurite through a proxy that answers 20 % of requests 503 and resets
// 5 % of connections. Every operation must succeed through the SDK's own retries or fail with a retryable
// FsError, and no blob may ever be visible half-written.

const body = (key: string, size: number) => {
  const b = Buffer.alloc(size, createHash("sha256").update(key).digest());
  b.write(key, 0, "utf8");
  return b;
};

type Outcome = { op: string; key: string; error?: unknown };

async function attempt(
  outcomes: Outcome[],
  op: string,
  key: string,
  fn: () => Promise<unknown>,
): Promise<boolean> {
  try {
    await fn();
    outcomes.push({ op, key });
    return true;
  } catch (error) {
    outcomes.push({ op, key, error });
    return false;
  }
}

function expectRetryableFailures(outcomes: readonly Outcome[]): void {
  for (const o of outcomes) {
    if (o.error === undefined) continue;
    expect(o.error, `${o.op} ${o.key}`).toBeInstanceOf(FsError);
    expect((o.error as FsError).retryable, `${o.op} ${o.key}: ${(o.error as FsError).kind}`).toBe(true);
    expect((o.error as FsError).kind).toBe("Transient");
  }
}

/** Every blob under the root, read straight from Azurite (not through the proxy). */
async function blobsUnder(prefix: string): Promise<Map<string, Buffer>> {
  const raw = rawContainer("faults");
  const out = new Map<string, Buffer>();
  for await (const b of raw.listBlobsFlat({ prefix: `${prefix}/` })) {
    out.set(b.name.slice(prefix.length + 1), await raw.getBlobClient(b.name).downloadToBuffer());
  }
  return out;
}

describe("fs-azure under faults (20 % 503, 5 % connection resets)", () => {
  let proxy: FaultProxy;
  const fsThroughProxy = (maxTries: number) =>
    new AzureBlobFileSystem(freshRoot("faults"), {
      accountKey: azurite().accountKey,
      endpoint: `${proxy.url}/${azurite().accountName}`,
      retryOptions: { maxTries, retryDelayInMs: 1, maxRetryDelayInMs: 10 },
      streamBlockSize: 1024 * 1024,
    });

  beforeAll(async () => {
    proxy = await createFaultProxy({
      target: new URL(azurite().blobEndpoint).origin,
      errorRate: 0.2,
      resetRate: 0.05,
      seed: 42,
    });
  });
  afterAll(async () => {
    await proxy?.close();
  });

  it("completes every operation through the SDK's retries, with every body whole", async () => {
    proxy.resetStats();
    const fs = fsThroughProxy(8);
    const outcomes: Outcome[] = [];
    const keys = Array.from({ length: 40 }, (_, i) => `coll/seg-${i}.sst`);
    await Promise.all(
      keys.map((k, i) =>
        attempt(outcomes, "write", k, () => fs.write(k, body(k, 1000 + i), { exclusive: i % 2 === 0 })),
      ),
    );
    const streamed = "coll/big.parquet";
    await attempt(outcomes, "writeStream", streamed, () =>
      fs.writeStream(
        streamed,
        (async function* () {
          for (let i = 0; i < 6; i++) yield body(`${streamed}#${i}`, 1024 * 1024);
        })(),
      ),
    );
    for (const k of keys.slice(0, 10)) {
      await attempt(outcomes, "read", k, async () =>
        expect(Buffer.from(await fs.read(k)).equals(body(k, 1000 + keys.indexOf(k)))).toBe(true),
      );
      await attempt(outcomes, "stat", k, () => fs.stat(k));
    }
    await attempt(outcomes, "list", "", async () =>
      expect((await listAll(fs, "", { pageSize: 7 })).files).toHaveLength(41),
    );
    await attempt(outcomes, "list-delimiter", "", async () =>
      expect((await listAll(fs, "", { delimiter: true })).prefixes).toEqual(["coll/"]),
    );
    await attempt(outcomes, "move", keys[0] as string, () =>
      fs.move(keys[0] as string, "coll/live/seg-0.sst"),
    );
    await attempt(outcomes, "deleteMany", "", () => fs.deleteMany(keys.slice(30)));
    await attempt(outcomes, "delete", keys[29] as string, () => fs.delete(keys[29] as string));

    expect(
      outcomes.filter((o) => o.error !== undefined).map((o) => `${o.op} ${o.key}: ${String(o.error)}`),
    ).toEqual([]);
    // The dice did roll: faults were injected and the retries absorbed them.
    expect(proxy.stats.injectedErrors).toBeGreaterThan(0);
    expect(proxy.stats.resets).toBeGreaterThan(0);

    const stored = await blobsUnder(fs.root.prefix);
    const expected = new Map<string, Buffer>();
    for (const [i, k] of keys.entries()) if (i > 0 && i < 29) expected.set(k, body(k, 1000 + i));
    expected.set("coll/live/seg-0.sst", body(keys[0] as string, 1000));
    expected.set(
      streamed,
      Buffer.concat(Array.from({ length: 6 }, (_, i) => body(`${streamed}#${i}`, 1024 * 1024))),
    );
    expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, v] of expected) expect(stored.get(k)?.equals(v), k).toBe(true);
  });

  it("without retries, fails only with retryable Transient errors and never leaves a blob half-written", async () => {
    proxy.resetStats();
    const fs = fsThroughProxy(1);
    const outcomes: Outcome[] = [];
    const keys = Array.from({ length: 40 }, (_, i) => `w/k-${i}`);
    await Promise.all(keys.map((k) => attempt(outcomes, "write", k, () => fs.write(k, body(k, 4096)))));
    const streams = ["w/stream-a", "w/stream-b", "w/stream-c"];
    for (const k of streams) {
      await attempt(outcomes, "writeStream", k, () =>
        fs.writeStream(
          k,
          (async function* () {
            for (let i = 0; i < 4; i++) yield body(`${k}#${i}`, 1024 * 1024);
          })(),
        ),
      );
    }
    const written = new Set(outcomes.filter((o) => o.error === undefined).map((o) => o.key));
    for (const k of keys.filter((k) => written.has(k)).slice(0, 10)) {
      await attempt(outcomes, "stat", k, () => fs.stat(k));
      await attempt(outcomes, "move", k, () => fs.move(k, `${k}.moved`));
    }
    await attempt(outcomes, "list", "", () => listAll(fs, "", { pageSize: 5 }));
    await attempt(outcomes, "probe", "", () => fs.probe());

    const failures = outcomes.filter((o) => o.error !== undefined);
    expect(failures.length).toBeGreaterThan(0);
    expectRetryableFailures(outcomes);

    // Whatever is stored is a whole body: a failed write left the old state (nothing), never a part.
    const stored = await blobsUnder(fs.root.prefix);
    expect(stored.size).toBeGreaterThan(0);
    for (const [k, v] of stored) {
      const origin = k.endsWith(".moved") ? k.slice(0, -".moved".length) : k;
      const whole = streams.includes(origin)
        ? Buffer.concat(Array.from({ length: 4 }, (_, i) => body(`${origin}#${i}`, 1024 * 1024)))
        : body(origin, 4096);
      expect(v.equals(whole), k).toBe(true);
    }
    // A write reported as done is stored; a move reported as done left its target.
    for (const o of outcomes) {
      if (o.error !== undefined) continue;
      if (o.op === "write" || o.op === "writeStream")
        expect(stored.has(o.key) || stored.has(`${o.key}.moved`), o.key).toBe(true);
      if (o.op === "move") expect(stored.has(`${o.key}.moved`), o.key).toBe(true);
    }
  });
});
