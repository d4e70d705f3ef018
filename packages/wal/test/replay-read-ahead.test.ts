import { setTimeout as sleep } from "node:timers/promises";
import { AssignmentService, type FileSystem, FsError, fsCapabilities } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { WriteAheadLog } from "../src/index.js";
import { collect, entries, expected } from "./records.js";

const SEGMENT = /\/wal-\d{20}(?:-e\d{10})?\.(?:bincode|avro)$/;

/** Stands between the WAL and each segment read; `read()` performs it. */
type ReadHook = (key: string, read: () => Promise<Uint8Array>) => Promise<Uint8Array>;

/** An object store over the backend (no `append`: one object per group), every segment read through `hook`. */
function objectStore(fs: FileSystem, hook: () => ReadHook | undefined): FileSystem {
  const capabilities = fsCapabilities(fs.capabilities, { append: false });
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === "capabilities") return capabilities;
      if (prop === "read")
        return (key: string, ...rest: unknown[]) => {
          const read = () =>
            (target.read as (k: string, ...r: unknown[]) => Promise<Uint8Array>)(key, ...rest);
          const h = hook();
          return h && SEGMENT.test(key) ? h(key, read) : read();
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

describeOnBackends("WriteAheadLog replay reads ahead (object stores)", ["memory", "s3"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1, { ignoreCloseErrors: true });
  let hook: ReadHook | undefined;

  async function openWal(): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => objectStore(env.tier.openFileSystem(r), () => hook),
    });
    env.opened.push(wal);
    return wal;
  }

  /** `groups` appends of one record each (one object each), then a fresh WAL over the same root, recovered. */
  async function withGroups(groups: number): Promise<WriteAheadLog> {
    hook = undefined;
    const first = await openWal();
    for (let i = 0; i < groups; i++) await first.append("orders", entries(i, 1));
    await first.close();
    const wal = await openWal();
    expect(await collect(wal.replay("orders"))).toHaveLength(groups); // recovered (its newest segment read)
    return wal;
  }

  it("keeps several segment reads in flight and still yields every record in sequence order", async () => {
    const wal = await withGroups(40);
    let inFlight = 0;
    let most = 0;
    let n = 0;
    // Earlier reads answer later: a replay that yielded in completion order would be caught.
    hook = async (_key, read) => {
      inFlight++;
      most = Math.max(most, inFlight);
      const slow = 20 - (n++ % 20);
      try {
        await sleep(slow);
        return await read();
      } finally {
        inFlight--;
      }
    };
    const got = await collect(wal.replay("orders"));
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => expected("orders", i, i + 1)));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(17); // the one decoded and 16 ahead
  });

  it("a replay stopped early leaves no read failing unheard, and the log goes on", async () => {
    const wal = await withGroups(30);
    let reads = 0;
    hook = async (key, read) => {
      if (++reads > 1) {
        await sleep(5);
        throw new FsError("Transient", `read ${key}: injected failure`, { key });
      }
      return read();
    };
    for await (const r of wal.replay("orders")) {
      expect(r.sequence).toBe(1);
      break;
    }
    await sleep(50); // the reads still in flight fail now; an unhandled rejection would fail this file
    hook = undefined;
    expect(await wal.append("orders", entries(30, 1))).toEqual({ first: 31, last: 31 });
    expect((await collect(wal.replay("orders"))).map((r) => r.sequence)).toEqual(
      Array.from({ length: 31 }, (_, i) => i + 1),
    );
  });

  it("a failed read of a middle segment fails the replay after the records before it", async () => {
    const wal = await withGroups(10);
    let reads = 0;
    hook = async (key, read) => {
      if (++reads === 5) throw new FsError("Transient", `read ${key}: injected failure`, { key });
      return read();
    };
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const r of wal.replay("orders")) got.push(r.sequence);
      })(),
    ).rejects.toMatchObject({ kind: "Transient" });
    expect(got).toEqual([1, 2, 3, 4]);
  });
});
