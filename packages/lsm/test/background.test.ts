import fc from "fast-check";
import { FsError, type PositionalReader, type WriteOptions } from "@proximadb/core";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlockCache } from "../src/cache.js";
import { type EngineRoots, openEngine, scanText, text } from "./helpers.js";

/** memfs whose writes can be held at a gate or made to fail, and which counts positional readers. */
class ControlledFs extends MemoryFileSystem {
  static gate: Promise<void> | undefined;
  static failNext: FsError | undefined;
  static readers = { opened: 0, closed: 0, reads: 0 };
  /** Positional reads fail with this error: as a rejected promise, or thrown by `read` itself (`sync`). */
  static readFault: { error: FsError; sync: boolean } | undefined;

  override async writeStream(
    key: string,
    source: AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<{ bytes: number }> {
    await ControlledFs.gate;
    const fail = ControlledFs.failNext;
    if (fail) {
      ControlledFs.failNext = undefined;
      for await (const _ of source); // drain the generator as a real failed upload would
      throw fail;
    }
    return super.writeStream(key, source, options);
  }

  override async openReader(key: string): Promise<PositionalReader> {
    await this.stat(key);
    const counts = ControlledFs.readers;
    counts.opened++;
    return {
      read: (offset, length) => {
        counts.reads++;
        const fault = ControlledFs.readFault;
        if (fault?.sync) throw fault.error;
        if (fault) return Promise.reject(fault.error);
        return this.read(key, { offset, length });
      },
      close: async () => {
        counts.closed++;
      },
    };
  }
}

/** One root on a fresh memfs volume, opened as {@link ControlledFs}. */
function controlledTier(): EngineRoots {
  const volume = new Volume();
  volume.mkdirSync("/disk1", { recursive: true });
  return {
    urls: ["mem://disk1"],
    openFileSystem: (root) => new ControlledFs(root, { volume }),
  };
}

/** A batch of `n` puts whose values fill about `n × 100` bytes. */
const puts = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: "put" as const,
    key: `${prefix}-${String(i).padStart(4, "0")}`,
    value: `${prefix}:${"v".repeat(90)}:${i}`,
  }));

/** Lets pending promise chains (not timers) run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("background flush and compaction", () => {
  let tier: EngineRoots;
  let release: () => void = () => undefined;
  beforeEach(() => {
    tier = controlledTier();
    ControlledFs.gate = undefined;
    ControlledFs.failNext = undefined;
    ControlledFs.readers = { opened: 0, closed: 0, reads: 0 };
    ControlledFs.readFault = undefined;
  });
  afterEach(() => {
    release();
  });

  function closeGate(): void {
    ControlledFs.gate = new Promise<void>((resolve) => {
      release = () => {
        ControlledFs.gate = undefined;
        resolve();
      };
    });
  }

  it("acknowledges writes while a full memtable is flushed, and serves reads from the frozen memtable meanwhile", async () => {
    const lsm = await openEngine(tier, { memtableBytes: 4096 });
    closeGate();
    await lsm.batch("c", puts("a", 60)); // fills the memtable: frozen, its flush held at the gate
    await lsm.batch("c", puts("b", 5)); // still acknowledged: the flush runs in the background
    const during = await lsm.stats("c");
    expect(during?.frozenMemtables).toBe(1);
    expect(during?.levels.flat()).toEqual([]);
    expect(text(await lsm.get("c", "a-0007"))).toMatch(/^a:v+:7$/);
    expect((await scanText(lsm, "c")).length).toBe(65);
    release();
    await lsm.flush("c");
    const after = await lsm.stats("c");
    expect(after?.frozenMemtables).toBe(0);
    expect(after?.levels[0]?.length).toBe(2);
    expect((await scanText(lsm, "c")).length).toBe(65);
    await lsm.close();
  });

  it("makes writers wait once more than two full memtables are waiting for their flush", async () => {
    const lsm = await openEngine(tier, { memtableBytes: 4096 });
    closeGate();
    await lsm.batch("c", puts("a", 60));
    await lsm.batch("c", puts("b", 60));
    let third = false;
    const pending = lsm.batch("c", puts("c", 60)).then(() => {
      third = true;
    });
    await settle();
    expect(third).toBe(false);
    expect((await lsm.stats("c"))?.frozenMemtables).toBe(3);
    release();
    await pending;
    expect(third).toBe(true);
    await lsm.flush("c");
    expect((await scanText(lsm, "c")).length).toBe(180);
    await lsm.close();
  });

  it("reports a failed background flush to the next caller, keeps the data readable and retries the flush", async () => {
    const lsm = await openEngine(tier, { memtableBytes: 4096 });
    ControlledFs.failNext = new FsError("Transient", "injected upload failure");
    await lsm.batch("c", puts("a", 60)); // acknowledged: the failing flush runs in the background
    await expect(lsm.flush("c")).rejects.toMatchObject({ kind: "Transient" });
    expect(text(await lsm.get("c", "a-0042"))).toMatch(/:42$/);
    expect((await lsm.stats("c"))?.levels.flat()).toEqual([]);
    await lsm.flush("c"); // the retry succeeds
    const stats = await lsm.stats("c");
    expect(stats?.frozenMemtables).toBe(0);
    expect(stats?.levels.flat().length).toBe(1);
    await lsm.close();
    const again = await openEngine(tier);
    expect((await scanText(again, "c")).length).toBe(60);
    await again.close();
  });

  it("keeps one positional reader per open table when the file system offers one, and closes it when the table dies", async () => {
    const lsm = await openEngine(tier, { blockCacheBytes: 0, blockBytes: 256, levelFanout: 8 });
    await lsm.batch("c", puts("a", 300));
    await lsm.flush("c");
    for (let i = 0; i < 300; i += 15)
      expect(text(await lsm.get("c", `a-${String(i).padStart(4, "0")}`))).toBeDefined();
    expect(ControlledFs.readers.opened).toBe(1);
    expect(ControlledFs.readers.reads).toBeGreaterThanOrEqual(20);
    await lsm.batch("c", puts("b", 10));
    await lsm.compact("c"); // both tables merged away: their readers are closed before their files go
    expect(ControlledFs.readers.closed).toBe(ControlledFs.readers.opened);
    expect(text(await lsm.get("c", "b-0003"))).toBeDefined();
    await lsm.close();
    expect(ControlledFs.readers.closed).toBe(ControlledFs.readers.opened);
  });

  it("rejects a get whose block read fails (rejected or thrown) with the read's error, never as not found, and still lets the table be deleted", async () => {
    const lsm = await openEngine(tier, { blockCacheBytes: 0, blockBytes: 256, levelFanout: 8 });
    await lsm.batch("c", puts("a", 300));
    await lsm.flush("c");
    await lsm.batch("c", puts("b", 300));
    await lsm.flush("c"); // two tables: a-keys are found in the older one, after the newer one's key range
    for (const sync of [false, true]) {
      ControlledFs.readFault = {
        error: new FsError("Transient", `injected read failure (sync ${sync})`),
        sync,
      };
      const pending = lsm.get("c", "a-0123");
      expect(pending).toBeInstanceOf(Promise); // a thrown read is a rejection too, not a throw from get
      await expect(pending).rejects.toMatchObject({ kind: "Transient" });
      await expect(lsm.get("c", "b-0042")).rejects.toMatchObject({ kind: "Transient" });
    }
    ControlledFs.readFault = undefined;
    expect(text(await lsm.get("c", "a-0123"))).toMatch(/:123$/);
    expect(text(await lsm.get("c", "b-0042"))).toMatch(/:42$/);
    await lsm.compact("c"); // the failed gets hold no reader count: both inputs are deleted at once
    const stats = await lsm.stats("c");
    expect(stats?.levels.flat().length).toBe(1);
    expect(stats?.garbage).toBe(0);
    expect(ControlledFs.readers.closed).toBe(2);
    await lsm.close();
  });

  it("goes on to an older table when a newer one's block read (a bloom false positive) has no entry for the key", async () => {
    // One bloom bit per key: most absent keys pass the newer table's filter and cost a block read there.
    const lsm = await openEngine(tier, { blockCacheBytes: 0, blockBytes: 256, bloomBitsPerKey: 1 });
    await lsm.batch("c", puts("a", 300));
    await lsm.flush("c");
    const evens = puts("a", 300).filter((_, i) => i % 2 === 0);
    await lsm.batch(
      "c",
      evens.map((op) => ({ ...op, value: `new:${op.value}` })),
    );
    await lsm.flush("c"); // the newer table covers the same key range, with the even keys only
    const reads = ControlledFs.readers.reads;
    for (let i = 1; i < 300; i += 2) {
      const v = text(await lsm.get("c", `a-${String(i).padStart(4, "0")}`));
      expect(v).toBe(`a:${"v".repeat(90)}:${i}`);
    }
    expect(text(await lsm.get("c", "a-0042"))).toMatch(/^new:/);
    // More reads than gets: some odd keys were read in the newer table first, then found in the older.
    expect(ControlledFs.readers.reads - reads).toBeGreaterThan(151);
    await lsm.close();
  });
});

describe("BlockCache", () => {
  const block = (n: number, fill = 0) => Buffer.alloc(n, fill);

  it("holds blocks up to its byte capacity and evicts the least recently used first", () => {
    const cache = new BlockCache(3 * (1000 + 96));
    const t = cache.slots(8);
    cache.insert(t, 1, block(1000), 0, 1000);
    cache.insert(t, 2, block(1000), 0, 1000);
    cache.insert(t, 3, block(1000), 0, 1000);
    expect(cache.lookup(t, 1)).toBeGreaterThanOrEqual(0); // 1 is now the most recent: 2 goes first
    cache.insert(t, 4, block(1000), 0, 1000);
    expect(cache.lookup(t, 2)).toBe(-1);
    expect([1, 3, 4].map((i) => cache.lookup(t, i) >= 0)).toEqual([true, true, true]);
    expect(cache.bytes).toBeLessThanOrEqual(cache.capacity);
    cache.insert(t, 5, block(2000), 0, 2000); // needs room of two blocks
    expect(cache.size).toBe(2);
    expect(cache.lookup(t, 5)).toBeGreaterThanOrEqual(0);
  });

  it("caches nothing when its capacity is 0 or a block is larger than the whole cache", () => {
    const off = new BlockCache(0);
    const t = off.slots(2);
    off.insert(t, 1, block(10), 0, 10);
    expect(off.lookup(t, 1)).toBe(-1);
    const small = new BlockCache(500);
    small.insert(small.slots(2), 1, block(1000), 0, 1000);
    expect(small.size).toBe(0);
  });

  it("gives back each cached block's bytes as inserted, whatever was evicted, moved or wrapped around meanwhile", () => {
    // Block i of table t holds bytes derived from (t, i), of sizes that make the ring wrap; lookups set
    // reference bits, so inserts also move blocks (second chance).
    const bytesOf = (t: number, i: number) => {
      const n = 200 + ((t * 7919 + i * 104_729) % 3800);
      const b = Buffer.allocUnsafe(n);
      for (let k = 0; k < n; k++) b[k] = (t * 31 + i * 17 + k) & 0xff;
      return b;
    };
    let hits = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 4000, max: 60_000 }),
        fc.array(fc.tuple(fc.nat(2), fc.nat(15)), { minLength: 200, maxLength: 600 }),
        (capacity, steps) => {
          const cache = new BlockCache(capacity);
          const tables = [cache.slots(16), cache.slots(16), cache.slots(16)];
          for (const [t, i] of steps) {
            const slots = tables[t] as Int32Array;
            const e = cache.lookup(slots, i);
            if (e >= 0) {
              hits++;
              const got = cache.ring.subarray(cache.start(e), cache.start(e) + cache.length(e));
              if (!got.equals(bytesOf(t, i))) return false;
            } else {
              const b = bytesOf(t, i);
              cache.insert(slots, i, b, 0, b.length);
            }
            if (cache.bytes > cache.capacity) return false;
          }
          return true;
        },
      ),
      { numRuns: 200, seed: 7 },
    );
    expect(hits).toBeGreaterThan(1000); // the comparison above ran
  });

  it("forgets a closed table's blocks", () => {
    const cache = new BlockCache(10_000);
    const t = cache.slots(4);
    cache.insert(t, 0, block(100, 1), 0, 100);
    cache.forget(t);
    expect(cache.lookup(t, 0)).toBe(-1);
  });
});
