/**
 * Issue #15: the index upkeep of a collection this node lost stops (it would only fail with StaleEpoch:
 * it must not keep trying or log errors). `NodeSearch.relinquish` is what the node calls on `lost`.
 */
import { AssignmentService, type CollectionId } from "@proximadb/core";
import { MemoryFileSystem, createMemoryRoots } from "@proximadb/fs-memory";
import { IndexEngine } from "@proximadb/index";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { CollectionCatalog } from "../src/catalog.js";
import type { CollectionDefinition } from "../src/collection.js";
import { NodeSearch } from "../src/engines/index-component.js";
import type { RecordEngine } from "../src/engines/types.js";
import { deferred } from "./helpers.js";

/** A VIPER record engine that holds nothing (what the index upkeep calls, and no more). */
function emptyEngine(): RecordEngine {
  return {
    kind: "viper",
    store: {} as never,
    create: async () => {},
    apply: async () => {},
    get: async () => undefined,
    scan: async function* () {},
    freeze: () => ({ write: async () => {}, restore: () => {} }),
    compact: async () => {},
    files: async () => 0,
    drop: async () => {},
    close: async () => {},
    onBackgroundFailure: undefined,
  };
}

describe("index upkeep on ownership loss", () => {
  const opened: IndexEngine[] = [];
  afterEach(async () => {
    for (const e of opened.splice(0)) await e.close({ flush: false }).catch(() => undefined);
  });

  it("stops for a relinquished collection (nothing logged), while a lost one not relinquished logs StaleEpoch", async () => {
    const { volume, roots } = createMemoryRoots({ "mem://index1": {} });
    const open = async (nodeId: string) => {
      const e = await IndexEngine.open({
        service: new AssignmentService({ components: { index: { roots: roots.map((r) => r.url) } } }),
        openFileSystem: (r) => new MemoryFileSystem(r, { volume }),
        nodeId,
      });
      opened.push(e);
      return e;
    };
    const a = await open("a");
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => void lines.push(s) });
    const definition = (id: string) =>
      ({
        format: 1,
        id,
        engine: "viper",
        dimension: 3,
        metric: "l2",
        createdAt: "",
      }) as unknown as CollectionDefinition;
    const catalog = {
      definition: async (id: string) => definition(id),
      checkpoint: async () => 0,
    } as unknown as CollectionCatalog;
    const search = new NodeSearch({ index: a, catalog, logger });
    const engine = search.wrap(emptyEngine());
    const ids = ["kept", "lost"] as CollectionId[];
    for (const id of ids) {
      await a.fence(id, 1);
      await engine.create(id, 3);
    }
    // Another node takes both over at epoch 2: whatever `a` still saves is refused (StaleEpoch).
    const b = await open("b");
    for (const id of ids) await b.fence(id, 2);
    for (const id of ids) {
      await engine.apply(id, 1, [{ op: "put", id: "r1", vector: Float32Array.of(1, 2, 3) }]);
      await engine.freeze(id).write(); // queues the index update (add + save)
    }
    await search.relinquish("lost" as CollectionId);
    await search.close(); // waits for every collection's queued upkeep
    const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level >= 50);
    expect(errors.map((l) => l.collection)).toEqual(["kept"]);
    expect(errors[0].err).toMatch(/epoch/i);
    expect(await search.status("lost")).toBeUndefined(); // not tracked any more
  });
});

describe("index builds and moves", () => {
  it("counts an index build's scan as a read of the collection (a move retires its source only after it)", async () => {
    const { volume, roots } = createMemoryRoots({ "mem://index-reads": {} });
    const index = await IndexEngine.open({
      service: new AssignmentService({ components: { index: { roots: roots.map((r) => r.url) } } }),
      openFileSystem: (r) => new MemoryFileSystem(r, { volume }),
    });
    const definition = {
      format: 1,
      id: "built",
      engine: "viper",
      dimension: 3,
      metric: "l2",
      createdAt: "",
    } as unknown as CollectionDefinition;
    const catalog = {
      definition: async () => definition,
      checkpoint: async () => 5,
    } as unknown as CollectionCatalog;
    const search = new NodeSearch({ index, catalog, logger: pino({ level: "silent" }) });
    const held = deferred();
    const scanning = deferred();
    search.wrap({
      ...emptyEngine(),
      scan: async function* () {
        yield { id: "a", vector: Float32Array.of(1, 2, 3), metadata: null };
        scanning.resolve();
        await held.promise; // the scan is under way, reading the engine's files
        yield { id: "b", vector: Float32Array.of(3, 2, 1), metadata: null };
      },
    });
    const reading = new Set<string>();
    search.countReads = async (id, work) => {
      reading.add(id);
      try {
        return await work();
      } finally {
        reading.delete(id);
      }
    };
    search.start([definition]); // no index yet: rebuilt from the scan
    await scanning.promise;
    expect([...reading]).toEqual(["built"]);
    held.resolve();
    for (let t = 0; t < 200 && (await search.status("built"))?.state !== "ready"; t++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await search.status("built"))?.state).toBe("ready");
    expect([...reading]).toEqual([]);
    await search.close();
    await index.close({ flush: false });
  });
});
