import { AssignmentService, RootOfflineError } from "@proximadb/core";
import type { RootAccess } from "@proximadb/engine";
import { type RootSet, describeOnBackends } from "@proximadb/testing-backends";
import { afterEach, beforeEach, expect, it } from "vitest";
import { WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

describeOnBackends("WriteAheadLog with rootAccess", ["memory", "local"], (backend) => {
  let tier: RootSet;
  const open: WriteAheadLog[] = [];
  const refused = new Map<string, string>();
  const rootAccess: RootAccess = { refusal: (url) => refused.get(url) };

  beforeEach(async () => {
    tier = await backend.roots("wal", 1);
    refused.clear();
  });
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
  });

  async function openWal(segmentBytes?: number): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => tier.openFileSystem(r),
      rootAccess,
      ...(segmentBytes === undefined ? {} : { segmentBytes }),
    });
    open.push(wal);
    return wal;
  }

  it("refuses an append to an open log once its root goes offline, and writes nothing", async () => {
    const wal = await openWal();
    await wal.append("orders", entries(0, 3));
    const before = await tier.snapshot();
    refused.set(tier.urls[0] as string, "empty: the deployment knows this root but it is empty");
    await expect(wal.append("orders", entries(3, 2))).rejects.toBeInstanceOf(RootOfflineError);
    expect(await tier.snapshot()).toEqual(before);
  });

  it("refuses a checkpoint (segment deletes) while the root is offline", async () => {
    const wal = await openWal(64); // every append starts a new segment
    for (let b = 0; b < 3; b++) await wal.append("orders", entries(b * 2, 2));
    refused.set(tier.urls[0] as string, "missing");
    await expect(wal.checkpoint("orders", 4)).rejects.toBeInstanceOf(RootOfflineError);
  });

  it("appends again once the root is back; every acknowledged record replays", async () => {
    const wal = await openWal();
    await wal.append("orders", entries(0, 3));
    refused.set(tier.urls[0] as string, "missing");
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
