import { AssignmentService, type FileSystem, InvalidArgumentError, listAll } from "@proximadb/core";
import { EngineError } from "@proximadb/engine";
import { type StorageBackend, describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { type WalOptions, WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

/**
 * "Nodes" on fresh roots of `backend` for each test: WAL instances that share the roots, closed after the test;
 * `.tier()` is the current test's roots.
 */
function walNodes(backend: StorageBackend) {
  const env = rootsPerTest<WriteAheadLog>(backend, "wal", 1, { ignoreCloseErrors: true });
  async function node(nodeId: string, options: Partial<WalOptions> = {}): Promise<WriteAheadLog> {
    const service = new AssignmentService({ components: { wal: { roots: env.tier.urls } } });
    const wal = await WriteAheadLog.open({
      service,
      openFileSystem: (r) => env.tier.openFileSystem(r),
      nodeId,
      ...options,
    });
    env.opened.push(wal);
    return wal;
  }
  return Object.assign(node, { tier: () => env.tier });
}

/**
 * Fencing: two engine instances on the same roots are two nodes. Whatever the owner of a lower epoch
 * appends after a fence at a higher epoch is never replayed, by the new owner or after any restart.
 */
describeOnBackends("WriteAheadLog fencing", ["memory", "local", "s3"], (backend) => {
  const node = walNodes(backend);

  async function segmentNames(wal: WriteAheadLog, id: string): Promise<string[]> {
    const at = wal.locate(id);
    if (!at) return [];
    const { files } = await listAll(at.fs, at.dir, { delimiter: true });
    return files.map((f) => f.key.slice(at.dir.length)).filter((n) => n.startsWith("wal-"));
  }

  const ids = (records: { id: string }[]) => records.map((r) => r.id);

  /** Node a owns `c` at epoch 1 and appends v0..v4; node b takes over at epoch 2; a keeps appending. */
  async function takeover(): Promise<{ a: WriteAheadLog; b: WriteAheadLog }> {
    const a = await node("a");
    await a.fence("c", 1);
    expect(await a.append("c", entries(0, 5))).toEqual({ first: 1, last: 5 });
    const b = await node("b");
    await b.fence("c", 2);
    // The stale owner has not heard of the takeover: it appends at its own next sequences.
    expect(await a.append("c", entries(100, 3))).toEqual({ first: 6, last: 8 });
    expect(await b.append("c", entries(5, 4))).toEqual({ first: 6, last: 9 });
    return { a, b };
  }

  const wanted = ["v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"];

  it("replays the stale owner's records from before the takeover and the new owner's, never the stale ones after it", async () => {
    const { b } = await takeover();
    const replayed = await collect(b.replay("c"));
    expect(ids(replayed)).toEqual(wanted);
    expect(replayed.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("keeps the rule across a restart: a third node replays the same records and continues after them", async () => {
    const { a, b } = await takeover();
    await a.close();
    await b.close();
    const c = await node("c");
    expect(ids(await collect(c.replay("c")))).toEqual(wanted);
    await c.fence("c", 3);
    expect(await c.append("c", entries(9, 1))).toEqual({ first: 10, last: 10 });
    expect(ids(await collect(c.replay("c")))).toEqual([...wanted, "v9"]);
  });

  it("restarts the new owner at its own epoch: the same fence again continues its log", async () => {
    const { b } = await takeover();
    await b.close();
    const b2 = await node("b");
    await b2.fence("c", 2);
    expect(await b2.append("c", entries(9, 1))).toEqual({ first: 10, last: 10 });
    expect(ids(await collect(b2.replay("c")))).toEqual([...wanted, "v9"]);
  });

  it("applies the same rule to Avro segments (a fence writes the Avro header), across a restart", async () => {
    const a = await node("a", { encoding: "avro" });
    await a.fence("c", 1);
    await a.append("c", entries(0, 3));
    const b = await node("b", { encoding: "avro" });
    await b.fence("c", 2);
    await a.append("c", entries(100, 2));
    await b.append("c", entries(3, 2));
    expect(ids(await collect(b.replay("c")))).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    await a.close();
    await b.close();
    const c = await node("c", { encoding: "avro" });
    await c.fence("c", 3);
    expect(await c.append("c", entries(5, 1))).toEqual({ first: 6, last: 6 });
    expect(ids(await collect(c.replay("c")))).toEqual(["v0", "v1", "v2", "v3", "v4", "v5"]);
    expect(c.corruptions).toEqual([]);
  });

  it("an unfenced node after a fence with no append yet writes at the found epoch, into the fence's empty segment", async () => {
    const a = await node("a");
    await a.fence("c", 1);
    await a.append("c", entries(0, 2));
    const b = await node("b");
    await b.fence("c", 2);
    await a.close();
    await b.close();
    const plain = await node("p");
    expect(await plain.append("c", entries(2, 1))).toEqual({ first: 3, last: 3 });
    expect(plain.epochOf("c")).toBe(2);
    expect(ids(await collect(plain.replay("c")))).toEqual(["v0", "v1", "v2"]);
    expect(await segmentNames(plain, "c")).toEqual([
      "wal-00000000000000000001-e0000000001.bincode",
      "wal-00000000000000000003-e0000000002.bincode",
    ]);
  });

  it("names segments of a fenced writer with its epoch and keeps the old names for an unfenced one", async () => {
    const plain = await node("p");
    await plain.append("old", entries(0, 1));
    expect(await segmentNames(plain, "old")).toEqual(["wal-00000000000000000001.bincode"]);
    const { b } = await takeover();
    const names = await segmentNames(b, "c");
    expect(names).toContain("wal-00000000000000000001-e0000000001.bincode");
    expect(names).toContain("wal-00000000000000000006-e0000000002.bincode");
    expect(b.epochOf("c")).toBe(2);
    expect(plain.epochOf("old")).toBe(0);
  });

  it("refuses a fence below the current epoch with EngineError StaleEpoch and changes nothing", async () => {
    const { b } = await takeover();
    const before = await segmentNames(b, "c");
    const late = await node("late");
    const err = await late.fence("c", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).kind).toBe("StaleEpoch");
    expect((err as EngineError).collection).toBe("c");
    await expect(b.fence("c", 1)).rejects.toMatchObject({ kind: "StaleEpoch" });
    expect(await segmentNames(b, "c")).toEqual(before);
    expect(b.epochOf("c")).toBe(2);
  });

  it("refuses an epoch that is not a positive safe integer with InvalidArgumentError", async () => {
    const wal = await node("a");
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      await expect(wal.fence("c", bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    expect(wal.locate("c")).toBeUndefined();
  });

  it("a checkpoint by the fenced-out owner deletes nothing and says StaleEpoch", async () => {
    const { a, b } = await takeover();
    const before = await segmentNames(b, "c");
    await expect(a.checkpoint("c", 8)).rejects.toMatchObject({ kind: "StaleEpoch" });
    expect(await segmentNames(b, "c")).toEqual(before);
    expect(ids(await collect(b.replay("c")))).toEqual(wanted);
  });

  it("a checkpoint by the new owner deletes covered segments of both epochs, never what it still needs", async () => {
    const { b } = await takeover();
    await b.append("c", entries(9, 1));
    await b.checkpoint("c", 9);
    expect(ids(await collect(b.replay("c", { after: 9 })))).toEqual(["v9"]);
    const fresh = await node("d");
    expect(ids(await collect(fresh.replay("c", { after: 9 })))).toEqual(["v9"]);
  });

  it("with requireFence, appends to an unfenced collection are refused with NotFenced; reads work", async () => {
    await takeover();
    const reader = await node("r", { requireFence: true });
    expect(ids(await collect(reader.replay("c")))).toEqual(wanted);
    await expect(reader.append("c", entries(50, 1))).rejects.toMatchObject({ kind: "NotFenced" });
    await expect(reader.append("fresh", entries(50, 1))).rejects.toMatchObject({ kind: "NotFenced" });
    await expect(reader.checkpoint("c", 5)).rejects.toMatchObject({ kind: "NotFenced" });
    await reader.fence("c", 3);
    expect(await reader.append("c", entries(9, 1))).toEqual({ first: 10, last: 10 });
  });

  it("appends issued while a fence runs are written after it, at the new epoch, in order", async () => {
    const a = await node("a");
    await a.fence("c", 1);
    await a.append("c", entries(0, 2));
    const fence = a.fence("c", 2);
    const during = a.append("c", entries(2, 2));
    await fence;
    expect(await during).toEqual({ first: 3, last: 4 });
    await a.close();
    const again = await node("a2");
    expect(ids(await collect(again.replay("c")))).toEqual(["v0", "v1", "v2", "v3"]);
  });

  it("appends queued when a fence starts stay replayable after a second fence with no append between", async () => {
    // Found by the kill -9 fence test: the queued records were given sequences before the fence, were
    // written into the new epoch's segment, and that segment was named after them, so the next fence at the
    // same sequence made the whole segment look stale.
    const a = await node("a");
    await a.fence("c", 1);
    const queued = a.append("c", entries(0, 3));
    await a.fence("c", 2);
    expect(await queued).toEqual({ first: 1, last: 3 });
    await a.fence("c", 3);
    await a.close();
    const again = await node("a2");
    expect(ids(await collect(again.replay("c")))).toEqual(["v0", "v1", "v2"]);
  });
});

/** Local disk only: a torn tail of another owner's live segment is never cut by a node that does not own it. */
describeOnBackends("WriteAheadLog fencing and recovery truncation", ["local"], (backend) => {
  const node = walNodes(backend);
  const tier = () => node.tier();

  async function tornTail(fs: FileSystem, key: string): Promise<number> {
    const handle = await fs.openAppend(key);
    await handle.write(Uint8Array.from([1, 2, 3])); // an owner's write in progress
    const size = handle.size;
    await handle.close();
    return size;
  }

  /** `owner` fenced `c` at epoch 1 and appended v0..v2 to its first segment `key` (in root file system `fs`). */
  async function ownedSegment(): Promise<{ owner: WriteAheadLog; fs: FileSystem; key: string }> {
    const owner = await node("owner");
    await owner.fence("c", 1);
    await owner.append("c", entries(0, 3));
    const fs = tier().openFileSystem(owner.locate("c")?.url as string);
    return { owner, fs, key: "c/wal-00000000000000000001-e0000000001.bincode" };
  }

  it("a requireFence node recovering a collection it was not fenced for keeps the owner's tail", async () => {
    const { fs, key } = await ownedSegment();
    const size = await tornTail(fs, key);
    const other = await node("other", { requireFence: true });
    expect(await other.recover("c", { checkpoint: 0 })).toEqual({ lastSequence: 3, nextSequence: 4 });
    expect((await fs.stat(key))?.size).toBe(size);
    expect(other.corruptions.map((c) => c.truncated)).toEqual([false]);
    await fs.close();
  });

  it("an owner restarted at its own epoch cuts its own torn tail at the fence", async () => {
    const { owner, fs, key } = await ownedSegment();
    const clean = (await fs.stat(key))?.size as number;
    await owner.close();
    await tornTail(fs, key);
    const again = await node("owner", { requireFence: true });
    await again.fence("c", 1);
    expect((await fs.stat(key))?.size).toBe(clean);
    // Found at recovery (not fenced yet: kept), then cut by the fence.
    expect(again.corruptions.map((c) => c.truncated)).toEqual([false, true]);
    expect(await again.append("c", entries(3, 1))).toEqual({ first: 4, last: 4 });
    expect((await collect(again.replay("c"))).map((r) => r.id)).toEqual(["v0", "v1", "v2", "v3"]);
    await fs.close();
  });

  it("a new owner's fence keeps the stale owner's torn tail and starts its own segment", async () => {
    const { fs, key } = await ownedSegment();
    const size = await tornTail(fs, key);
    const next = await node("next", { requireFence: true });
    await next.fence("c", 2);
    expect((await fs.stat(key))?.size).toBe(size);
    expect(await next.append("c", entries(3, 1))).toEqual({ first: 4, last: 4 });
    expect((await collect(next.replay("c"))).map((r) => r.id)).toEqual(["v0", "v1", "v2", "v3"]);
    await fs.close();
  });
});
