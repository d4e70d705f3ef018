import { AssignmentService, type FileSystem, listAll } from "@proximadb/core";
import { type RootSet, describeOnBackends } from "@proximadb/testing-backends";
import { beforeEach, expect, it } from "vitest";
import { LsmEngine } from "../src/index.js";
import { text } from "./helpers.js";

async function relocate(from: FileSystem, to: FileSystem, dir: string): Promise<void> {
  const { files } = await listAll(from, dir);
  for (const f of files) await to.write(f.key, await from.read(f.key));
  await from.deletePrefix(dir);
}

describeOnBackends("LsmEngine.release", ["memory", "local"], (backend) => {
  let tier: RootSet;
  beforeEach(async () => {
    tier = await backend.roots("lsm", 2);
  });

  it("writes the memtable to its root, then reads and writes follow the collection to its new root", async () => {
    const service = new AssignmentService({ components: { lsm: { roots: tier.urls } } });
    const lsm = await LsmEngine.open({ service, openFileSystem: (r) => tier.openFileSystem(r), nodeId: "n" });
    try {
      await lsm.put("orders", "a", "1");
      await lsm.flush("orders");
      await lsm.put("orders", "b", "2"); // only in the memtable
      const from = lsm.locate("orders")?.url as string;
      const to = tier.urls.find((u) => u !== from) as string;
      await lsm.release("orders");
      await relocate(tier.openFileSystem(from), tier.openFileSystem(to), "orders/");
      await service.reassign("orders", "lsm", from, to);
      expect(text(await lsm.get("orders", "a"))).toBe("1");
      expect(text(await lsm.get("orders", "b"))).toBe("2");
      await lsm.put("orders", "c", "3");
      await lsm.flush("orders");
      expect((await listAll(tier.openFileSystem(from), "orders/")).files).toEqual([]);
      expect(text(await lsm.get("orders", "c"))).toBe("3");
    } finally {
      await lsm.close();
    }
  });
});
