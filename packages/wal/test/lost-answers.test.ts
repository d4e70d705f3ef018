import { AssignmentService, type FileSystem, FsError } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

/**
 * On an object store a lost answer to a segment's exclusive create is retried by the SDK; a store that
 * honours `If-None-Match` then refuses the retry (412, `AlreadyExists`) although the first attempt landed.
 */
describeOnBackends("WriteAheadLog on an object store whose answers get lost", ["s3"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1, { ignoreCloseErrors: true });
  const { opened: open } = env;

  /** Segment writes land with `landed` (the group's bytes by default), then the answer says AlreadyExists. */
  async function openWal(landed?: () => Uint8Array): Promise<WriteAheadLog> {
    const wrap = (fs: FileSystem): FileSystem =>
      new Proxy(fs, {
        get(target, prop) {
          if (prop === "write")
            return async (key: string, data: Uint8Array, options: object) => {
              if (!/\/wal-\d+\.bincode$/.test(key) || key.endsWith("01.bincode"))
                return target.write(key, data, options);
              await target.write(key, landed?.() ?? data, options);
              throw new FsError("AlreadyExists", `write ${key}: key already exists`, { key });
            };
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => wrap(env.tier.openFileSystem(r)),
    });
    open.push(wal);
    return wal;
  }

  it("acknowledges a group whose create was refused because its own first attempt landed", async () => {
    const wal = await openWal();
    await wal.append("orders", entries(0, 1));
    expect(await wal.append("orders", entries(1, 2))).toEqual({ first: 2, last: 3 });
    expect((await collect(wal.replay("orders"))).map((r) => r.sequence)).toEqual([1, 2, 3]);
  });

  it("refuses a group whose segment name holds another writer's bytes", async () => {
    const wal = await openWal(() => new TextEncoder().encode("someone else"));
    await wal.append("orders", entries(0, 1));
    await expect(wal.append("orders", entries(1, 2))).rejects.toMatchObject({ kind: "AlreadyExists" });
  });
});
