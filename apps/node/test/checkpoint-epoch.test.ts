import { AssignmentService, type CollectionId } from "@proximadb/core";
import { createMemoryRoots } from "@proximadb/fs-memory";
import { WriteAheadLog } from "@proximadb/wal";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CATALOG_FILES, CollectionCatalog } from "../src/catalog.js";
import { checkpointOf } from "../src/recovery.js";
import { metadataStore } from "./catalog-support.js";

/**
 * The WAL checkpoint carries its writer epoch: a stale owner whose flush passed its epoch check just
 * before the new owner's fence may write a checkpoint past the new owner's first sequence; recovery caps
 * it at the start of the higher epoch, so the new owner's unflushed records are replayed.
 */
describe("WAL checkpoint epoch", () => {
  const WAL = "mem://ckpt-epoch/wal";
  const META = "mem://ckpt-epoch/meta";
  const id = "docs" as CollectionId;
  const logger = pino({ level: "silent" });
  const open: WriteAheadLog[] = [];
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close().catch(() => undefined);
  });

  function cluster() {
    const roots = createMemoryRoots({ [WAL]: {}, [META]: {} });
    const fs = roots.fs(META);
    const catalog = new CollectionCatalog(metadataStore(fs, new Set(), (c) => fs.deletePrefix(`${c}/`)));
    const node = async (nodeId: string) => {
      const service = new AssignmentService({ components: { wal: { roots: [WAL] } } });
      const wal = await WriteAheadLog.open({ service, openFileSystem: (r) => roots.fs(r.url), nodeId });
      open.push(wal);
      return wal;
    };
    return { catalog, fs, node };
  }
  const put = (n: number) => Array.from({ length: n }, (_, i) => ({ op: "put" as const, id: `r${i}` }));

  it("a stale owner's checkpoint written after a fence does not make recovery skip the new owner's records", async () => {
    const { catalog, node } = cluster();
    const a = await node("a");
    await a.fence(id, 1);
    await a.append(id, put(3)); // 1..3
    const b = await node("b");
    await b.fence(id, 2);
    expect(await b.append(id, put(2))).toEqual({ first: 4, last: 5 }); // the new owner's, unflushed
    await a.append(id, put(4)); // stale: 4..7 at epoch 1, never replayed
    await catalog.setCheckpoint(id, 7, a.epochOf(id)); // the stale owner's late flush
    const b2 = await node("b2"); // the new owner restarts
    const after = await checkpointOf(id, { catalog, wal: b2, logger });
    expect(after).toBe(3);
    const replayed: number[] = [];
    for await (const r of b2.replay(id, { after })) replayed.push(r.sequence);
    expect(replayed).toEqual([4, 5]);
  });

  it("stores the writer epoch with the checkpoint and keeps a checkpoint of the newest epoch", async () => {
    const { catalog, fs, node } = cluster();
    const a = await node("a");
    await a.fence(id, 1);
    await a.append(id, put(3));
    await catalog.setCheckpoint(id, 2, a.epochOf(id));
    expect(JSON.parse(new TextDecoder().decode(await fs.read(`docs/${CATALOG_FILES.checkpoint}`)))).toEqual({
      walSequence: 2,
      epoch: 1,
    });
    expect(await checkpointOf(id, { catalog, wal: a, logger })).toBe(2);
  });

  it("reads an old document without an epoch as epoch 0 (kept in a log never fenced)", async () => {
    const { catalog, fs, node } = cluster();
    const a = await node("a");
    await a.append(id, put(4));
    await catalog.setCheckpoint(id, 1); // places the collection's metadata
    await fs.write(`docs/${CATALOG_FILES.checkpoint}`, new TextEncoder().encode('{"walSequence":3}'));
    expect(await catalog.checkpointAt(id)).toEqual({ walSequence: 3, epoch: 0 });
    expect(await checkpointOf(id, { catalog, wal: a, logger })).toBe(3);
  });
});
