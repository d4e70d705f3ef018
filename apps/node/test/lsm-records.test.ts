import * as nodeFs from "node:fs";
import { join } from "node:path";
import { AssignmentService, type CollectionId, type FileSystem } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { createMemoryRoots } from "@proximadb/fs-memory";
import type { WalEntry } from "@proximadb/wal";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";
import { openLsmRecords } from "../src/engines/lsm.js";
import type { RecordEngine } from "../src/engines/registry.js";
import { tempDir } from "./helpers.js";

/** One LSM root on local disk or memfs, and a way to put a file where a folder should go. */
function rootOn(kind: "local disk" | "memfs"): { fs: FileSystem; block(key: string): void } {
  if (kind === "memfs") {
    const url = `mem://lsm-records-${Math.random().toString(36).slice(2)}/lsm`;
    const roots = createMemoryRoots({ [url]: {} });
    const base = roots.roots[0]?.path as string;
    return {
      fs: roots.fs(url),
      block: (key) => {
        roots.volume.mkdirSync(join(base, key, ".."), { recursive: true });
        roots.volume.writeFileSync(join(base, key), "in the way");
      },
    };
  }
  const dir = tempDir();
  return {
    fs: new LocalFileSystem(`file://${dir}`),
    block: (key) => {
      nodeFs.mkdirSync(join(dir, key, ".."), { recursive: true });
      nodeFs.writeFileSync(join(dir, key), "in the way");
    },
  };
}

describe.each(["local disk", "memfs"] as const)("the LSM record engine on %s", (kind) => {
  let engine: RecordEngine | undefined;
  afterEach(async () => {
    await engine?.close();
  });

  it("never fails an apply with an earlier background flush failure of the tree; it reports it instead", async () => {
    const root = rootOn(kind);
    const config = parseConfigText(`${embeddedDefaultToml()}\n[engine]\nflush_threshold_bytes = 1024\n`, {
      baseDir: "/",
      source: "test",
    });
    const service = new AssignmentService({ components: { lsm: { roots: [root.fs.root.url] } } });
    engine = await openLsmRecords({ config, service, openFileSystem: () => root.fs, nodeId: "n1" });
    const reported: unknown[] = [];
    engine.onBackgroundFailure = (_id, err) => reported.push(err);
    const id = "kv" as CollectionId;
    await engine.store.place(id);
    root.block("kv/_staging"); // the tree's own flushes (a full 4 MiB memtable) fail
    const batch = (b: number): WalEntry[] =>
      Array.from({ length: 200 }, (_, i) => ({
        op: "put",
        id: `r${b * 200 + i}`,
        vector: new Float32Array(256).fill(b),
      }));
    const failures: unknown[] = [];
    for (let b = 0; b < 30; b++) await engine.apply(id, b * 200 + 1, batch(b)).catch((e) => failures.push(e));
    // The tree's flush of the full memtable fails in the background; keep writing until it has.
    for (let i = 0; i < 200 && reported.length === 0 && failures.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const one: WalEntry[] = [{ op: "put", id: `x${i}`, vector: new Float32Array(256) }];
      await engine.apply(id, 6001 + i, one).catch((e) => failures.push(e));
    }
    expect(failures).toEqual([]);
    expect(reported.length).toBeGreaterThan(0);
    expect((await engine.get(id, "r5999"))?.vector[0]).toBe(29);
  });
});
