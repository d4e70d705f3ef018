import { AssignmentService, type FileSystem, listAll } from "@proximadb/core";
import { type RootSet, describeOnBackends } from "@proximadb/testing-backends";
import { beforeEach, expect, it } from "vitest";
import { ViperEngine } from "../src/index.js";

async function relocate(from: FileSystem, to: FileSystem, dir: string): Promise<void> {
  const { files } = await listAll(from, dir);
  for (const f of files) await to.write(f.key, await from.read(f.key));
  await from.deletePrefix(dir);
}

describeOnBackends("ViperEngine.release", ["memory", "local"], (backend) => {
  let tier: RootSet;
  beforeEach(async () => {
    tier = await backend.roots("viper", 2);
  });

  it("forgets the live files so reads and flushes follow the collection to its new root", async () => {
    const service = new AssignmentService({ components: { viper: { roots: tier.urls } } });
    const viper = await ViperEngine.open({
      service,
      openFileSystem: (r) => tier.openFileSystem(r),
      nodeId: "n",
    });
    try {
      await viper.createCollection("docs", { dimension: 2 });
      await viper.flush("docs", [{ id: "a", vector: Float32Array.from([1, 2]), metadata: null }]);
      expect((await viper.get("docs", "a"))?.vector).toEqual(Float32Array.from([1, 2]));
      const from = viper.locate("docs")?.url as string;
      const to = tier.urls.find((u) => u !== from) as string;
      await viper.release("docs");
      await relocate(tier.openFileSystem(from), tier.openFileSystem(to), "docs/");
      await service.reassign("docs", "viper", from, to);
      expect((await viper.get("docs", "a"))?.vector).toEqual(Float32Array.from([1, 2]));
      await viper.flush("docs", [{ id: "b", vector: Float32Array.from([3, 4]), metadata: null }]);
      expect(await viper.count("docs")).toBe(2);
      expect((await listAll(tier.openFileSystem(from), "docs/")).files).toEqual([]);
    } finally {
      await viper.close();
    }
  });
});
