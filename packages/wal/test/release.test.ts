import { AssignmentService, type FileSystem, listAll } from "@proximadb/core";
import { type RootSet, describeOnBackends } from "@proximadb/testing-backends";
import { beforeEach, expect, it } from "vitest";
import { WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

/** Copies every file of `dir` from one root to the other and deletes the source (what a move does). */
async function relocate(from: FileSystem, to: FileSystem, dir: string): Promise<void> {
  const { files } = await listAll(from, dir);
  for (const f of files) await to.write(f.key, await from.read(f.key));
  await from.deletePrefix(dir);
}

describeOnBackends("WriteAheadLog.release", ["memory", "local"], (backend) => {
  let tier: RootSet;
  beforeEach(async () => {
    tier = await backend.roots("wal", 2);
  });

  it("forgets the open log so appends and replays follow the collection to its new root", async () => {
    const service = new AssignmentService({ components: { wal: { roots: tier.urls } } });
    const wal = await WriteAheadLog.open({ service, openFileSystem: (r) => tier.openFileSystem(r) });
    try {
      await wal.append("orders", entries(0, 3));
      const from = wal.locate("orders")?.url as string;
      const to = tier.urls.find((u) => u !== from) as string;
      await wal.release("orders");
      await relocate(tier.openFileSystem(from), tier.openFileSystem(to), "orders/");
      await service.reassign("orders", "wal", from, to);
      expect(await wal.append("orders", entries(3, 2))).toEqual({ first: 4, last: 5 });
      expect((await collect(wal.replay("orders"))).map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect((await listAll(tier.openFileSystem(from), "orders/")).files).toEqual([]);
    } finally {
      await wal.close();
    }
  });

  it("does nothing for a collection it never opened", async () => {
    const service = new AssignmentService({ components: { wal: { roots: tier.urls } } });
    const wal = await WriteAheadLog.open({ service, openFileSystem: (r) => tier.openFileSystem(r) });
    try {
      await wal.release("nobody");
      expect(wal.locate("nobody")).toBeUndefined();
    } finally {
      await wal.close();
    }
  });
});
