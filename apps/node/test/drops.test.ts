import type { CollectionId, FileSystem } from "@proximadb/core";
import { createMemoryRoots } from "@proximadb/fs-memory";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { CATALOG_FILES, CollectionCatalog } from "../src/catalog.js";
import { CollectionDrops } from "../src/drops.js";
import type { EngineRegistry } from "../src/engines/registry.js";
import { NodeError } from "../src/errors.js";
import { lsmDefinition, metadataStore } from "./catalog-support.js";

const URL = "mem://drops-test/meta";
const ID = "docs" as CollectionId;

const definition = lsmDefinition(ID);

/**
 * A catalog on one memory root whose writes and deletes are logged, and a registry of fake engines whose
 * drops are logged into the same list (and can be made to fail).
 */
function setUp(options: { failDrops?: number; failTombstone?: boolean } = {}) {
  const events: string[] = [];
  const roots = createMemoryRoots({ [URL]: {} });
  const raw = roots.fs(URL);
  const fs = new Proxy(raw, {
    get(target, prop) {
      if (prop === "write")
        return async (key: string, ...rest: unknown[]) => {
          if (options.failTombstone && key.endsWith(CATALOG_FILES.tombstone)) throw new Error("disk full");
          events.push(`write ${key}`);
          return (target.write as (...a: unknown[]) => Promise<void>)(key, ...rest);
        };
      if (prop === "delete" || prop === "deleteMany")
        return async (keys: string | string[], opts?: { durable?: boolean }) => {
          for (const k of [keys].flat().sort())
            events.push(`delete ${k}${opts?.durable ? " (durable)" : ""}`);
          return (target[prop] as (...a: unknown[]) => Promise<void>)(keys, opts);
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as FileSystem;
  const placed = new Set<string>();
  const metadata = metadataStore(fs, placed, async (id) => {
    events.push(`forget metadata ${id}`);
  });
  let failures = options.failDrops ?? 0;
  const fake = (name: string) => ({
    drop: async (id: string) => {
      if (failures > 0) {
        failures--;
        throw new Error(`${name} unreachable`);
      }
      events.push(`drop ${name} ${id}`);
    },
  });
  const engines = {
    records: () => [fake("viper"), fake("lsm")],
    store: (c: string) => fake(c),
    has: (c: string) => c === "index",
  } as unknown as EngineRegistry;
  const catalog = new CollectionCatalog(metadata);
  const drops = new CollectionDrops({ catalog, engines, logger: pino({ level: "silent" }), retryMs: 5 });
  const restored: string[] = [];
  const request = {
    definition,
    quiesce: async () => {
      events.push("quiesce");
    },
    restore: () => restored.push(ID),
  };
  return { events, catalog, drops, request, restored, raw };
}

async function settled(drops: CollectionDrops, id: string): Promise<void> {
  for (let i = 0; i < 500 && drops.has(id); i++) {
    await drops.running(id)?.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe("CollectionDrops (the drop protocol)", () => {
  it("writes the tombstone before deleting anything, deletes every component, the documents, then the tombstone", async () => {
    const { events, catalog, drops, request } = setUp();
    await catalog.create(definition);
    await catalog.setCheckpoint(ID, 7);
    events.length = 0;
    await drops.drop(ID, request);
    expect(events).toEqual([
      "quiesce",
      `write docs/${CATALOG_FILES.tombstone}`,
      "drop viper docs",
      "drop lsm docs",
      "drop wal docs",
      "drop index docs",
      `delete docs/${CATALOG_FILES.definition} (durable)`,
      `delete docs/${CATALOG_FILES.checkpoint} (durable)`,
      `delete docs/${CATALOG_FILES.tombstone} (durable)`,
      "forget metadata docs",
    ]);
  });

  it("reserves the id from the call (synchronously) until the drop completes", async () => {
    const { catalog, drops, request } = setUp();
    await catalog.create(definition);
    const p = drops.drop(ID, request);
    expect(drops.has(ID)).toBe(true);
    expect(drops.list()).toEqual([ID]);
    expect(drops.running(ID)).toBe(p);
    await p;
    expect(drops.has(ID)).toBe(false);
  });

  it("answers a failed step with Unavailable, keeps the id reserved, and retries until the drop completes", async () => {
    const { catalog, drops, request, events } = setUp({ failDrops: 2 });
    await catalog.create(definition);
    const err = await drops.drop(ID, request).catch((e) => e);
    expect(err).toBeInstanceOf(NodeError);
    expect(err).toMatchObject({ kind: "Unavailable", retryable: true });
    expect(drops.has(ID)).toBe(true);
    expect(await catalog.tombstone(ID)).toMatchObject({ format: 1 });
    await settled(drops, ID);
    expect(drops.has(ID)).toBe(false);
    expect(events.filter((e) => e === "drop viper docs")).toHaveLength(1);
    expect(await catalog.definition(ID)).toBeUndefined();
  });

  it("leaves the collection as it was when the tombstone cannot be written", async () => {
    const { catalog, drops, request, restored, events } = setUp({ failTombstone: true });
    await catalog.create(definition);
    await expect(drops.drop(ID, request)).rejects.toThrow("disk full");
    expect(restored).toEqual([ID]);
    expect(drops.has(ID)).toBe(false);
    expect(events.some((e) => e.startsWith("drop "))).toBe(false);
    expect(await catalog.definition(ID)).toEqual(definition);
  });

  it("resumes tombstoned drops at start, one after another, reserved until each completes", async () => {
    const { catalog, drops, events } = setUp();
    for (const id of ["a", "b"] as CollectionId[]) {
      await catalog.create({ ...definition, id });
      await catalog.markDropping(id, { format: 1, droppedAt: "2025-01-01T00:00:00Z" });
    }
    drops.resume(["a", "b"] as CollectionId[]);
    expect(drops.list()).toEqual(["a", "b"]);
    await settled(drops, "a");
    await settled(drops, "b");
    expect(drops.list()).toEqual([]);
    expect(events.indexOf("forget metadata a")).toBeLessThan(events.indexOf("drop viper b"));
    expect(await catalog.tombstone("b")).toBeUndefined();
  });
});
