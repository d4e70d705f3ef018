import { AssignmentService, ClosedError, InvalidArgumentError, listAll } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { type WalCorruption, type WalEncoding, type WalOptions, WriteAheadLog } from "../src/index.js";
import { type Counters, counting } from "./counting.js";
import { collect, entries, expected } from "./records.js";

const encodings: WalEncoding[] = ["bincode", "avro"];

describeOnBackends("WriteAheadLog", ["memory", "local", "s3"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 2);
  const { opened: open } = env;

  async function openWal(options: Partial<WalOptions> = {}, counters?: Counters): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) =>
        counters ? counting(env.tier.openFileSystem(r), counters) : env.tier.openFileSystem(r),
      ...options,
    });
    open.push(wal);
    return wal;
  }

  describe.each(encodings)("with %s segments", (encoding) => {
    it("replays every appended record, in order, after a clean close", async () => {
      const wal = await openWal({ encoding });
      expect(await wal.append("orders", entries(0, 3))).toEqual({ first: 1, last: 3 });
      expect(await wal.append("orders", entries(3, 7))).toEqual({ first: 4, last: 10 });
      await wal.close();

      const again = await openWal({ encoding });
      const replayed = await collect(again.replay("orders"));
      expect(replayed).toEqual(Array.from({ length: 10 }, (_, i) => expected("orders", i, i + 1)));
      expect(await collect(again.replay("orders", { after: 8 }))).toHaveLength(2);
      expect(again.corruptions).toEqual([]);
    });

    it("continues sequence numbers after a restart, in a new segment whose name sorts after the old ones", async () => {
      const first = await openWal({ encoding });
      await first.append("orders", entries(0, 4));
      await first.close();
      const second = await openWal({ encoding });
      expect(await second.append("orders", entries(4, 2))).toEqual({ first: 5, last: 6 });
      await second.close();

      const third = await openWal({ encoding });
      expect((await collect(third.replay("orders"))).map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
      const home = third.locate("orders");
      const segs = (await env.tier.keys(home?.url as string)).filter((k) => k.startsWith("orders/"));
      const ext = encoding === "avro" ? "avro" : "bincode";
      expect(segs[0]).toBe(`orders/wal-00000000000000000001.${ext}`);
      expect(segs).toContain(`orders/wal-00000000000000000005.${ext}`);
    });

    it("checkpoint removes only the segments wholly covered, and never the newest one", async () => {
      const wal = await openWal({ encoding, segmentBytes: 64 }); // every append starts a new segment
      for (let b = 0; b < 5; b++) await wal.append("orders", entries(b * 2, 2)); // segments 1,3,5,7,9
      expect(await wal.checkpoint("orders", 4)).toBe(2); // [1-2] and [3-4]
      expect((await collect(wal.replay("orders"))).map((r) => r.sequence)).toEqual([5, 6, 7, 8, 9, 10]);
      expect(await wal.checkpoint("orders", 5)).toBe(0); // [5-6] is only partly covered
      expect(await wal.checkpoint("orders", 100)).toBe(2); // all but the newest
      expect((await collect(wal.replay("orders"))).map((r) => r.sequence)).toEqual([9, 10]);
      await wal.close();

      const again = await openWal({ encoding, segmentBytes: 64 });
      expect(await again.append("orders", entries(10, 1))).toEqual({ first: 11, last: 11 });
    });
  });

  it("writes two collections assigned to different roots only into their own roots", async () => {
    const wal = await openWal();
    await Promise.all([wal.append("alpha", entries(0, 5)), wal.append("beta", entries(0, 5))]);
    await wal.append("alpha", entries(5, 1));
    const alpha = wal.locate("alpha");
    const beta = wal.locate("beta");
    expect(alpha?.url).not.toBe(beta?.url);
    const alphaKeys = await env.tier.keys(alpha?.url as string);
    const betaKeys = await env.tier.keys(beta?.url as string);
    expect(alphaKeys.filter((k) => !k.startsWith("_"))).toEqual([
      "alpha/wal-00000000000000000001.bincode",
      ...(alphaKeys.length > 2 ? alphaKeys.slice(2) : []),
    ]);
    expect(alphaKeys.every((k) => k.startsWith("alpha/") || k === "_proximadb_root.json")).toBe(true);
    expect(betaKeys.every((k) => k.startsWith("beta/") || k === "_proximadb_root.json")).toBe(true);
    expect(betaKeys.some((k) => k.startsWith("beta/"))).toBe(true);
    expect((await collect(wal.replay("alpha"))).map((r) => r.id)).toEqual(entries(0, 6).map((e) => e.id));
    expect((await collect(wal.replay("beta"))).map((r) => r.id)).toEqual(entries(0, 5).map((e) => e.id));
  });

  it("group commit: 64 concurrent appends under `batch` share far fewer fsyncs than under `always`", async () => {
    const durableOps = (c: Counters) => c.syncs + c.writes;
    const batch: Counters = { syncs: 0, writes: 0 };
    const walBatch = await openWal({ sync: "batch" }, batch);
    await walBatch.append("orders", entries(0, 1)); // place the collection and write the root marker first
    const base = durableOps(batch);
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) => walBatch.append("orders", entries(i + 1, 1))),
    );
    const batchOps = durableOps(batch) - base;
    expect(new Set(results.map((r) => r.first)).size).toBe(64);
    expect(batchOps).toBeGreaterThan(0);
    expect(batchOps).toBeLessThanOrEqual(4);
    expect(await collect(walBatch.replay("orders"))).toHaveLength(65);

    const always: Counters = { syncs: 0, writes: 0 };
    const walAlways = await openWal({ sync: "always" }, always);
    await walAlways.append("other", entries(0, 1));
    const base2 = durableOps(always);
    await Promise.all(Array.from({ length: 64 }, (_, i) => walAlways.append("other", entries(i + 1, 1))));
    expect(durableOps(always) - base2).toBe(64);
  });

  it("detects a corrupt tail, reports it and never replays it; appends continue after it", async () => {
    const reports: WalCorruption[] = [];
    const wal = await openWal({ encoding: "bincode" });
    await wal.append("orders", entries(0, 3));
    await wal.append("orders", entries(3, 2));
    const home = wal.locate("orders");
    await wal.close();

    const fs = env.tier.openFileSystem(home?.url as string);
    const segs = (await listAll(fs, "orders/")).files.map((f) => f.key).sort();
    const last = segs[segs.length - 1] as string;
    const good = await fs.read(last);
    // A crash mid-write: the start of a record without its end.
    const torn = new Uint8Array(good.length + 20);
    torn.set(good);
    torn.set(good.subarray(0, 20), good.length);
    await fs.write(last, torn);

    const again = await openWal({ encoding: "bincode", onCorruption: (c) => reports.push(c) });
    expect((await collect(again.replay("orders"))).map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({
      collection: "orders",
      key: last,
      offset: good.length,
      bytes: 20,
      reason: "torn",
    });
    if (fs.capabilities.append) {
      expect(reports[0]?.truncated).toBe(true);
      expect((await fs.stat(last)).size).toBe(good.length);
    }
    expect(await again.append("orders", entries(5, 1))).toEqual({ first: 6, last: 6 });
    expect((await collect(again.replay("orders"))).map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6]);

    // A flipped byte inside a record fails its CRC32C: that record and everything after it is dropped.
    const bytes = await fs.read(last);
    bytes[30] = (bytes[30] as number) ^ 0xff;
    await fs.write(last, bytes);
    const third = await openWal({ encoding: "bincode", onCorruption: (c) => reports.push(c) });
    const left = (await collect(third.replay("orders"))).map((r) => r.sequence);
    expect(left.length).toBeLessThan(6);
    expect(reports.at(-1)?.reason).toBe("checksum");
    await fs.close();
  });

  it("places a collection without writing a segment, and drop deletes its files and placement", async () => {
    const wal = await openWal();
    expect(wal.component).toBe("wal");
    expect(wal.report.roots.map((r) => r.url)).toEqual(env.tier.urls);
    const placed = await wal.place("orders");
    expect(wal.locate("orders")).toEqual(placed);
    expect(wal.locate("other")).toBeUndefined();
    expect(wal.collections()).toEqual(["orders"]);
    expect((await env.tier.keys(placed.url)).filter((k) => k.startsWith("orders/"))).toEqual([]);
    await wal.append("orders", entries(0, 2));
    expect((await env.tier.keys(placed.url)).filter((k) => k.startsWith("orders/"))).toHaveLength(1);
    await wal.drop("orders");
    expect(wal.locate("orders")).toBeUndefined();
    expect(wal.collections()).toEqual([]);
    expect((await env.tier.keys(placed.url)).filter((k) => k.startsWith("orders/"))).toEqual([]);
    expect(await collect(wal.replay("orders"))).toEqual([]);
  });

  it("refuses bad records and bad options with typed errors", async () => {
    const wal = await openWal();
    await expect(wal.append("orders", [{ op: "upsert" as "put", id: "x" }])).rejects.toMatchObject({
      kind: "InvalidRecord",
    });
    await expect(
      wal.append("orders", [{ op: "put", id: "x", vector: [1, 2] as unknown as Float32Array }]),
    ).rejects.toMatchObject({
      kind: "InvalidRecord",
    });
    await expect(wal.append("../x", entries(0, 1))).rejects.toMatchObject({ code: "INVALID_COLLECTION_ID" });
    await expect(openWal({ segmentBytes: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openWal({ sync: "sometimes" as "batch" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openWal({ encoding: "json" as "avro" })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await wal.append("orders", entries(0, 1))).toEqual({ first: 1, last: 1 }); // nothing was consumed
    await wal.close();
    await expect(wal.append("orders", entries(0, 1))).rejects.toBeInstanceOf(ClosedError);
    expect(() => wal.locate("orders")).toThrow(ClosedError);
    await expect(wal.place("orders")).rejects.toBeInstanceOf(ClosedError);
  });
});
