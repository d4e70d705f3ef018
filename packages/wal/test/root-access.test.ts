import { AssignmentService, RootOfflineError } from "@proximadb/core";
import type { RootAccess } from "@proximadb/engine";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { beforeEach, expect, it } from "vitest";
import { WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

describeOnBackends("WriteAheadLog with rootAccess", ["memory", "local"], (backend) => {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1);
  const { opened: open } = env;
  const refused = new Map<string, string>();
  const rootAccess: RootAccess = { refusal: (url) => refused.get(url) };

  beforeEach(() => {
    refused.clear();
  });

  async function openWal(segmentBytes?: number): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => env.tier.openFileSystem(r),
      rootAccess,
      ...(segmentBytes === undefined ? {} : { segmentBytes }),
    });
    open.push(wal);
    return wal;
  }

  it("refuses an append to an open log once its root goes offline, and writes nothing", async () => {
    const wal = await openWal();
    await wal.append("orders", entries(0, 3));
    const before = await env.tier.snapshot();
    refused.set(env.tier.urls[0] as string, "empty: the deployment knows this root but it is empty");
    await expect(wal.append("orders", entries(3, 2))).rejects.toBeInstanceOf(RootOfflineError);
    expect(await env.tier.snapshot()).toEqual(before);
  });

  it("refuses a checkpoint (segment deletes) while the root is offline", async () => {
    const wal = await openWal(64); // every append starts a new segment
    for (let b = 0; b < 3; b++) await wal.append("orders", entries(b * 2, 2));
    refused.set(env.tier.urls[0] as string, "missing");
    await expect(wal.checkpoint("orders", 4)).rejects.toBeInstanceOf(RootOfflineError);
  });

  it("appends again once the root is back; every acknowledged record replays", async () => {
    const wal = await openWal();
    await wal.append("orders", entries(0, 3));
    refused.set(env.tier.urls[0] as string, "missing");
    await wal.append("orders", entries(3, 2)).catch(() => undefined);
    refused.clear();
    await wal.append("orders", entries(5, 2));
    await wal.close();
    const again = await openWal();
    expect((await collect(again.replay("orders"))).map((r) => r.id)).toEqual(
      [0, 1, 2, 5, 6].map((i) => entries(i, 1)[0]?.id),
    );
  });
});
