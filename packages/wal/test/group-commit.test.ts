import { setTimeout as sleep } from "node:timers/promises";
import { AssignmentService, type FileSystem, FsError, fsCapabilities } from "@proximadb/core";
import { seededRandom } from "@proximadb/testing";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it, vi } from "vitest";
import { handleOver, wrapAppends } from "./counting.js";
import { type AppendResult, GroupAbortedError, type WalOptions, WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

/** Stands between the WAL and one segment write: `land()` performs it. */
type SegmentWriteHook = (key: string, land: () => Promise<void>) => Promise<void>;

const SEGMENT = /\/wal-(\d{20})(?:-e\d{10})?\.(?:bincode|avro)$/;
/** The first sequence in a segment key. */
const firstOf = (key: string) => Number(SEGMENT.exec(key)?.[1]);

/**
 * An object store over the backend: no `append` (memfs stands in for one), and every segment write passes
 * through `hook`.
 */
function objectStore(fs: FileSystem, hook: () => SegmentWriteHook | undefined): FileSystem {
  const capabilities = fsCapabilities(fs.capabilities, { append: false });
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === "capabilities") return capabilities;
      if (prop === "write")
        return async (key: string, data: Uint8Array, options: object) => {
          const h = hook();
          if (!SEGMENT.test(key) || data.length === 0 || !h) return target.write(key, data, options);
          await h(key, () => target.write(key, data, options));
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** The state of a promise, looked at now. */
async function stateOf(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  const pending = Symbol();
  try {
    return (await Promise.race([p, Promise.resolve(pending)])) === pending ? "pending" : "fulfilled";
  } catch {
    return "rejected";
  }
}

describeOnBackends("WriteAheadLog group objects in flight (object stores)", ["memory", "s3"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1, { ignoreCloseErrors: true });
  let hook: SegmentWriteHook | undefined;

  async function openWal(options: Partial<WalOptions> = {}): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => objectStore(env.tier.openFileSystem(r), () => hook),
      ...options,
    });
    env.opened.push(wal);
    return wal;
  }

  it("refuses a failed middle group and every later group in flight, and a restart keeps every acknowledged record across the gap", async () => {
    hook = undefined;
    const wal = await openWal({ groupsInFlight: 4 });
    expect(await wal.append("orders", entries(0, 1))).toEqual({ first: 1, last: 1 });

    const attempted: number[] = [];
    const landed: number[] = [];
    let fail!: () => void;
    const failing = new Promise<void>((r) => {
      fail = r;
    });
    hook = async (key, land) => {
      attempted.push(firstOf(key));
      if (firstOf(key) === 2) {
        await failing; // the middle group: held, then refused by the store
        throw new FsError("Transient", `write ${key}: injected failure`, { key });
      }
      await land();
      landed.push(firstOf(key));
    };
    const middle = wal.append("orders", entries(1, 1)); // sequence 2
    await vi.waitFor(() => expect(attempted).toContain(2));
    const later = wal.append("orders", entries(2, 2)); // sequences 3-4: a group of its own, in flight beside it
    await vi.waitFor(() => expect(landed).toContain(3), { timeout: 3000 });
    await sleep(20);
    expect(await stateOf(later)).toBe("pending"); // landed, but not acknowledged before the group before it
    fail();
    await expect(middle).rejects.toMatchObject({ kind: "Transient" });
    const refused = await later.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(GroupAbortedError);
    expect(refused).toMatchObject({ collection: "orders", failedFirst: 2, retryable: true });
    // Appends after the failed groups go on at the next sequences.
    expect(await wal.append("orders", entries(4, 1))).toEqual({ first: 5, last: 5 });
    await wal.close();

    hook = undefined;
    const again = await openWal();
    const seqs = (await collect(again.replay("orders"))).map((r) => r.sequence);
    // 2 never landed (a gap); 3-4 landed but were refused: replaying them is allowed (a refused write may
    // or may not be durable), acknowledged ones (1, 5) are all there.
    expect(seqs).toEqual([1, 3, 4, 5]);
    expect(again.corruptions).toEqual([]);
    expect(await again.append("orders", entries(5, 1))).toEqual({ first: 6, last: 6 });
  });

  it("acknowledges appends in sequence order while their group objects land out of order", async () => {
    const random = seededRandom(1811);
    let inFlight = 0;
    let maxInFlight = 0;
    const landed: number[] = [];
    hook = async (_key, land) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await sleep(Math.floor(random() * 25));
        await land();
        landed.push(firstOf(_key));
      } finally {
        inFlight--;
      }
    };
    const wal = await openWal({ groupsInFlight: 3 });
    await wal.append("orders", entries(0, 1));
    const acked: AppendResult[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, w) => {
        for (let i = 0; i < 8; i++) {
          await sleep(Math.floor(random() * 6)); // spread the appends so that they form many groups
          acked.push(await wal.append("orders", entries(w * 8 + i, 1)));
        }
      }),
    );
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(landed.some((f, i) => i > 0 && f < (landed[i - 1] as number))).toBe(true); // out of order
    const firsts = acked.map((a) => a.first);
    expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
    hook = undefined;
    await wal.close();
    const again = await openWal();
    expect((await collect(again.replay("orders"))).map((r) => r.sequence)).toEqual(
      Array.from({ length: 97 }, (_, i) => i + 1),
    );
  });

  it("writes one group at a time with groupsInFlight 1, and refuses a value that is not a positive integer", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    hook = async (_key, land) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(3);
      await land();
      inFlight--;
    };
    const wal = await openWal({ groupsInFlight: 1 });
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 4; i++) await wal.append("orders", entries(w * 4 + i, 1));
      }),
    );
    expect(maxInFlight).toBe(1);
    hook = undefined;
    for (const bad of [0, -1, 1.5, Number.NaN])
      await expect(openWal({ groupsInFlight: bad })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describeOnBackends("WriteAheadLog group commit on an append-capable root", ["memory"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1, { ignoreCloseErrors: true });

  it("encodes the appends that arrive during an fsync as the next group, and writes them into a new segment when that fsync fails", async () => {
    let syncs = 0;
    const held: { release?: (ok: boolean) => void } = {};
    const wrap = (fs: FileSystem): FileSystem =>
      wrapAppends(fs, (h, key) =>
        handleOver(h, {
          sync: async () => {
            syncs++;
            if (syncs === 2) {
              // The second group's fsync: held while more appends arrive, then it fails.
              const ok = await new Promise<boolean>((release) => {
                held.release = release;
              });
              if (!ok) throw new FsError("Transient", `sync ${key}: injected failure`, { key });
            }
            return h.sync();
          },
        }),
      );
    for (const encoding of ["bincode", "avro"] as const) {
      syncs = 0;
      held.release = undefined;
      const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
      const wal = await WriteAheadLog.open({
        service,
        openFileSystem: (r) => wrap(env.tier.openFileSystem(r)),
        encoding,
      });
      env.opened.push(wal);
      const id = `log-${encoding}`;
      expect(await wal.append(id, entries(0, 2))).toEqual({ first: 1, last: 2 });
      const failed = wal.append(id, entries(2, 1)); // 3: its fsync fails
      await vi.waitFor(() => expect(held.release).toBeDefined());
      const during = [wal.append(id, entries(3, 2)), wal.append(id, entries(5, 1))]; // 4-5, 6
      await sleep(5);
      const more = wal.append(id, entries(6, 1)); // 7, another turn
      await sleep(5);
      const release = held.release as ((ok: boolean) => void) | undefined;
      release?.(false);
      await expect(failed).rejects.toMatchObject({ kind: "Transient" });
      expect(await Promise.all([...during, more])).toEqual([
        { first: 4, last: 5 },
        { first: 6, last: 6 },
        { first: 7, last: 7 },
      ]);
      expect(syncs).toBe(3); // 1-2, 3 (failed), then 4-7 together
      await wal.close();
      const again = await WriteAheadLog.open({ service, openFileSystem: env.tier.openFileSystem });
      env.opened.push(again);
      expect((await collect(again.replay(id))).map((r) => r.sequence)).toEqual([1, 2, 4, 5, 6, 7]);
      expect(again.corruptions).toEqual([]);
    }
  });
});
