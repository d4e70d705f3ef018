import { AssignmentService, DataCorruptionError, type FileSystem } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { handleOver, wrapAppends } from "./counting.js";
import { CheckpointAheadError, type WalOptions, WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

/**
 * The checkpoint rule: a WAL never issues a sequence at or below a checkpoint it can see, and a
 * checkpoint above what the log holds is reported, never skipped past.
 */
describeOnBackends("WriteAheadLog checkpoint floor", ["memory", "local", "s3"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1, { ignoreCloseErrors: true });
  const { opened: open } = env;

  async function openWal(
    options: Partial<WalOptions> = {},
    wrap: (fs: FileSystem) => FileSystem = (fs) => fs,
  ): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => wrap(env.tier.openFileSystem(r)),
      ...options,
    });
    open.push(wal);
    return wal;
  }

  it("recover with a checkpoint at or below the log's last sequence reports it and changes nothing", async () => {
    const first = await openWal();
    await first.append("orders", entries(0, 6));
    await first.close();
    const wal = await openWal();
    expect(await wal.recover("orders", { checkpoint: 4 })).toEqual({ lastSequence: 6, nextSequence: 7 });
    expect(await wal.append("orders", entries(6, 1))).toEqual({ first: 7, last: 7 });
  });

  it("recover of a collection that has no log and no checkpoint places nothing", async () => {
    const wal = await openWal();
    expect(await wal.recover("fresh", { checkpoint: 0 })).toEqual({ lastSequence: 0, nextSequence: 1 });
    expect(wal.locate("fresh")).toBeUndefined();
  });

  it("reports a checkpoint above a lost log with CheckpointAheadError and never issues a sequence at or below it", async () => {
    const first = await openWal();
    await first.append("orders", entries(0, 10));
    const home = first.locate("orders");
    await first.close();
    // The WAL folder is lost (or re-created) while the checkpoint, kept elsewhere, survives.
    const fs = env.tier.openFileSystem(home?.url as string);
    await fs.deletePrefix("orders/");
    await fs.close();

    const wal = await openWal();
    const err = await wal.recover("orders", { checkpoint: 10 }).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointAheadError);
    expect(err).toBeInstanceOf(DataCorruptionError);
    expect(err).toMatchObject({
      code: "DATA_CORRUPTION",
      collection: "orders",
      checkpoint: 10,
      lastSequence: 0,
    });
    expect(await wal.append("orders", entries(10, 2))).toEqual({ first: 11, last: 12 });
    await wal.close();
    const again = await openWal();
    expect((await collect(again.replay("orders", { after: 10 }))).map((r) => r.sequence)).toEqual([11, 12]);
  });

  it("refuses a checkpoint that is not a non-negative safe integer", async () => {
    const wal = await openWal();
    await expect(wal.recover("orders", { checkpoint: -1 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(wal.recover("orders", { checkpoint: 1.5 })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  it.runIf(backend.kind !== "s3")(
    "a checkpoint while a new segment's first write is in flight keeps the segment before it (the sequence survives two crashes)",
    async () => {
      let release: (() => void) | undefined;
      const released = new Promise<void>((r) => {
        release = r;
      });
      let started: (() => void) | undefined;
      const writeStarted = new Promise<void>((r) => {
        started = r;
      });
      // The second segment's first write tears: a few bytes land, then the process "dies".
      const wrap = (fs: FileSystem): FileSystem =>
        wrapAppends(fs, (h, key) =>
          key.endsWith("00000000000000000004.bincode")
            ? handleOver(h, {
                write: async (d) => {
                  await h.write(d.subarray(0, 5));
                  started?.();
                  await released;
                  throw new Error("the process died");
                },
                truncate: async () => undefined,
                close: async () => undefined,
              })
            : h,
        );
      try {
        const wal = await openWal({ segmentBytes: 64 }, wrap);
        await wal.append("orders", entries(0, 3)); // segment 1: sequences 1-3
        const pending = wal.append("orders", entries(3, 1)); // segment 4: created, its write torn
        pending.catch(() => undefined);
        await writeStarted;
        const deleted = await wal.checkpoint("orders", 3); // everything acknowledged is covered
        // Crash; a restart recovers the log (removing the torn segment); then a second crash and restart.
        const second = await openWal({ segmentBytes: 64 });
        await collect(second.replay("orders"));
        const third = await openWal({ segmentBytes: 64 });
        expect(await third.append("orders", entries(4, 1))).toEqual({ first: 4, last: 4 });
        expect(deleted).toBe(0);
      } finally {
        release?.();
      }
    },
  );
});
