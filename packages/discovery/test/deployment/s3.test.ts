import { type FileSystem, listAll } from "@proximadb/core";
import { describeOnBackends } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { type ConfiguredRoot, prepareDeployment, readNewestMarker } from "../../src/index.js";

describeOnBackends("deployment identity", ["s3"], (backend) => {
  it("a first start lists every root in every marker, a new root joins, an emptied root is empty and never written", async () => {
    const names = ["wal-1", "wal-2", "viper-1", "meta-1", "viper-2"];
    const set = await backend.roots("deployment", names);
    const open = (name: string) => set.openFileSystem(set.urls[names.indexOf(name)] as string);
    const roots: ConfiguredRoot[] = [
      { component: "wal", fs: open("wal-1") },
      { component: "wal", fs: open("wal-2") },
      { component: "viper", fs: open("viper-1") },
      { component: "metadata", fs: open("meta-1") },
    ];
    const first = await prepareDeployment(roots);
    expect(first.performed).toEqual(["init"]);
    await roots[1]?.fs.write("c2/000001.avro", "record");
    const grown = [...roots, { component: "viper" as const, fs: open("viper-2") }];
    const joined = await prepareDeployment(grown);
    expect(joined.performed).toEqual(["join"]);
    const urls = grown.map((r) => r.fs.root.url).sort();
    for (const r of grown) {
      const m = await readNewestMarker(r.fs);
      expect(m?.format === 2 && m.roots.map((e) => e.url).sort()).toEqual(urls);
      expect(m?.format === 2 && m.deployment).toBe(first.assessment.deployment);
    }
    // wal-2's objects are gone (a bucket prefix emptied, or a mount behind a gateway lost).
    const wal2 = roots[1]?.fs as FileSystem;
    await wal2.deleteMany((await listAll(wal2, "")).files.map((f) => f.key));
    const { assessment, performed } = await prepareDeployment(grown);
    expect(performed).toEqual([]);
    expect(assessment.roots.map((r) => r.status)).toEqual(["online", "empty", "online", "online", "online"]);
    expect((await listAll(wal2, "")).files).toEqual([]);
  });
});
