import * as nodeFs from "node:fs";
import { join } from "node:path";
import { sharedMemoryVolume } from "@proximadb/fs-memory";
import { afterEach, describe, expect, it } from "vitest";
import { CATALOG_FILES } from "../src/catalog.js";
import { tempDir } from "./helpers.js";
import { type InProcessNode, openInProcess, quietToml } from "./in-process.js";

/** The few file operations the tests need, on the disk a root URL names (local disk or the memfs volume). */
interface Disk {
  path(url: string, ...rest: string[]): string;
  remove(path: string): void;
  writeFile(path: string, data: string): void;
  mkdir(path: string): void;
}

const DISKS: Record<"local disk" | "memfs", Disk> = {
  "local disk": {
    path: (url, ...rest) => join(new URL(url).pathname, ...rest),
    remove: (p) => nodeFs.rmSync(p, { recursive: true, force: true }),
    writeFile: (p, d) => nodeFs.writeFileSync(p, d),
    mkdir: (p) => nodeFs.mkdirSync(p, { recursive: true }),
  },
  memfs: {
    path: (url, ...rest) => join(`/${url.slice("mem://".length)}`, ...rest),
    remove: (p) => sharedMemoryVolume().rmSync(p, { recursive: true, force: true }),
    writeFile: (p, d) => sharedMemoryVolume().writeFileSync(p, d),
    mkdir: (p) => sharedMemoryVolume().mkdirSync(p, { recursive: true }),
  },
};

const QUIET = quietToml();

describe.each(Object.entries(DISKS))("a collection's life on %s", (diskName, disk) => {
  const memory = diskName === "memfs";
  const opened: InProcessNode[] = [];
  const open = async (dir: string, edit = QUIET) => {
    const n = await openInProcess(edit, { dir, memory });
    opened.push(n);
    return n;
  };
  afterEach(async () => {
    for (const n of opened.splice(0)) await n.close().catch(() => undefined);
  });

  const records = (from: number, count: number, dim = 3) => ({
    records: Array.from({ length: count }, (_, i) => ({
      id: `r${from + i}`,
      vector: Array.from({ length: dim }, (_, k) => from + i + k),
    })),
  });

  it("a collection whose WAL lost the segments its checkpoint covers is unavailable with the reason, and acknowledges nothing", async () => {
    const dir = tempDir();
    let n = await open(dir);
    await n.call("POST", "/collections", { id: "docs", engine: "lsm", dimension: 3 });
    await n.call("POST", "/collections/docs/records", records(0, 10));
    expect((await n.call("POST", "/collections/docs/flush")).json.checkpoint).toBe(10);
    const wal = (await n.call("GET", "/collections/docs")).json.placements.wal.url as string;
    await n.close();
    disk.remove(disk.path(wal, "docs")); // the WAL folder is lost; the metadata (and checkpoint) survive

    n = await open(dir);
    const view = await n.call("GET", "/collections/docs");
    expect(view.json.health.state).toBe("unavailable");
    expect(view.json.health.reason).toContain("below the checkpoint 10");
    const write = await n.call("POST", "/collections/docs/records", records(10, 1));
    expect(write.status).toBe(503);
    expect(write.json.error).toMatchObject({ kind: "unavailable", retryable: true });
    expect((await n.call("GET", "/collections/docs/records/r0")).status).toBe(503);
    await n.close();

    // Still reported after another restart: nothing was skipped past in between.
    n = await open(dir);
    expect((await n.call("GET", "/collections/docs")).json.health.state).toBe("unavailable");
    // The operator's way out: the collection can be dropped and created again.
    expect((await n.call("DELETE", "/collections/docs")).status).toBe(200);
    expect((await n.call("POST", "/collections", { id: "docs", engine: "lsm", dimension: 3 })).status).toBe(
      201,
    );
    expect((await n.call("GET", "/collections/docs")).json.health.state).toBe("ready");
  });

  it("an interrupted drop (tombstone written, nothing deleted yet) resumes at the next start; the id stays reserved until it completes", async () => {
    const dir = tempDir();
    let n = await open(dir);
    await n.call("POST", "/collections", { id: "kv", engine: "lsm", dimension: 3 });
    await n.call("POST", "/collections/kv/records", records(0, 5));
    await n.call("POST", "/collections/kv/flush");
    await n.call("POST", "/collections/kv/records", records(5, 5)); // in the WAL only
    // The process dies right after the drop's first step: its intent is durable, nothing is deleted.
    const meta = n.node.engines.store("metadata").locate("kv")?.url as string;
    await n.close();
    disk.writeFile(
      disk.path(meta, "kv", CATALOG_FILES.tombstone),
      '{"format":1,"droppedAt":"2025-01-01T00:00:00Z"}',
    );

    n = await open(dir);
    expect(n.node.collections().map((c) => c.id)).toEqual([]);
    expect((await n.call("GET", "/collections/kv")).status).toBe(404);
    expect((await n.call("GET", "/collections/kv/records/r1")).status).toBe(404);
    // Waits for the resumed drop (a DELETE while it runs joins it; once it is done the id is unknown).
    await n.node.dropCollection("kv").catch((e) => expect(e.kind).toBe("NotFound"));
    expect((await n.call("GET", "/stats")).json.dropping).toEqual([]);
    expect(n.node.orphans).toEqual([]);
    expect((await n.call("POST", "/collections", { id: "kv", engine: "viper", dimension: 3 })).status).toBe(
      201,
    );
    for (const r of ["r1", "r7"])
      expect((await n.call("GET", `/collections/kv/records/${r}`)).status).toBe(404);
  });

  it("a failed background flush of the LSM tree never fails an unrelated write; the collection is degraded until a flush succeeds", async () => {
    const dir = tempDir();
    let n = await open(dir);
    await n.call("POST", "/collections", { id: "kv", engine: "lsm", dimension: 256 });
    const lsm = (await n.call("GET", "/collections/kv")).json.placements.lsm.url as string;
    // Staging is impossible: a file stands where the collection's _staging/ folder goes.
    disk.mkdir(disk.path(lsm, "kv"));
    disk.writeFile(disk.path(lsm, "kv", "_staging"), "in the way");
    // 6,000 records of 1 KiB: past the node's flush threshold (2 MiB) and the tree's memtable (4 MiB).
    const answers: string[] = [];
    for (let b = 0; b < 30; b++) {
      const r = await n.call("POST", "/collections/kv/records", records(b * 200, 200, 256));
      answers.push(r.status === 200 ? "200" : `${r.status} ${JSON.stringify(r.json)}`);
    }
    expect(answers).toEqual(Array(30).fill("200"));
    const view = await n.call("GET", "/collections/kv");
    expect(view.json.health.state).toBe("degraded");
    expect(view.json.health.degraded[0]).toMatchObject({ operation: "flush" });
    const metrics = (await n.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/proximadb_collections\{state="degraded"\} 1/);
    expect(metrics).toMatch(/proximadb_background_failures_total\{operation="flush"\} [1-9]/);

    disk.remove(disk.path(lsm, "kv", "_staging"));
    const flushed = await n.call("POST", "/collections/kv/flush");
    expect(flushed.json).not.toHaveProperty("error");
    expect(flushed.status).toBe(200);
    expect((await n.call("GET", "/collections/kv")).json.health.state).toBe("ready");
    await n.close();
    n = await open(dir);
    for (const r of [0, 2999, 5999])
      expect((await n.call("GET", `/collections/kv/records/r${r}`)).json.vector[0]).toBe(r);
  });

  it("a failed compaction answers its own request, marks the collection degraded, and writes go on", async () => {
    const dir = tempDir();
    const n = await open(dir);
    await n.call("POST", "/collections", { id: "vec", engine: "viper", dimension: 3 });
    for (let b = 0; b < 2; b++) {
      await n.call("POST", "/collections/vec/records", records(b * 10, 10));
      await n.call("POST", "/collections/vec/flush");
    }
    const viper = (await n.call("GET", "/collections/vec")).json.placements.viper.url as string;
    disk.remove(disk.path(viper, "vec", "_staging"));
    disk.writeFile(disk.path(viper, "vec", "_staging"), "in the way");
    const compact = await n.call("POST", "/collections/vec/compact");
    expect(compact.status).toBe(500);
    expect((await n.call("GET", "/collections/vec")).json.health).toMatchObject({
      state: "degraded",
      degraded: [{ operation: "compaction", failures: 1 }],
    });
    expect((await n.call("POST", "/collections/vec/records", records(20, 1))).status).toBe(200);
    disk.remove(disk.path(viper, "vec", "_staging"));
    expect((await n.call("POST", "/collections/vec/compact")).status).toBe(200);
    expect((await n.call("GET", "/collections/vec")).json.health.state).toBe("ready");
  });
});
