/**
 * A flush queued for a collection this node then lost (its lease lapsed while etcd was down) must not
 * write a WAL checkpoint: the engine forgot the collection's memory at the loss, so a late flush writes
 * nothing, and a checkpoint it wrote would claim that the records up to it are in the engine's files.
 * The next owner then replays the WAL only after that checkpoint and every record before it is gone.
 * Seen in CI (`cluster-faults.test.ts`, etcd killed and restarted: 365 acknowledged records of an LSM
 * collection answered 404; reproduced here 1 run in 12: a checkpoint at 182 and no SSTable).
 *
 * In one process: the background job queue is held by a flush of another collection, a flush of `lost`
 * is queued behind it, `lost` is relinquished as the cluster does on `lost`, then the queue runs. After a
 * restart on the same roots every acknowledged record of `lost` must be there.
 */
import type { CollectionId } from "@proximadb/core";
import { afterEach, describe, expect, it } from "vitest";
import { relinquishCollection } from "../src/cluster/fencing.js";
import { deferred, tempDir } from "./helpers.js";
import { type InProcessNode, openInProcess, quietToml, recordsBody } from "./in-process.js";

const TUNE = quietToml(1024);
const records = recordsBody;

describe.each([
  ["memfs", true],
  ["local disk", false],
] as const)("a flush queued before the collection was lost (%s)", (_name, memory) => {
  const opened: InProcessNode[] = [];
  afterEach(async () => {
    for (const n of opened.splice(0)) await n.close().catch(() => undefined);
  });

  it.each(["lsm", "viper"] as const)(
    "%s: writes no checkpoint, and every acknowledged record is read back after a restart",
    async (engine) => {
      const dir = tempDir();
      const n = await openInProcess(TUNE, { dir, memory });
      opened.push(n);
      for (const id of ["busy", "lost"])
        expect((await n.call("POST", "/collections", { id, engine, dimension: 3 })).status).toBe(201);

      // The one background job slot is held by a flush of `busy` until `held` is resolved.
      const records_ = n.node.engines.record(engine);
      const freeze = records_.freeze.bind(records_);
      const held = deferred();
      const started = deferred();
      records_.freeze = (id) => {
        const frozen = freeze(id);
        if (id !== "busy") return frozen;
        return {
          write: async () => {
            started.resolve();
            await held.promise;
            await frozen.write();
          },
          restore: frozen.restore,
        };
      };
      expect((await n.call("POST", "/collections/busy/records", records(0, 60))).status).toBe(200);
      await started.promise;
      // Past the threshold: a flush of `lost` is queued behind the held one.
      expect((await n.call("POST", "/collections/lost/records", records(100, 60))).status).toBe(200);

      // The ownership `lost` event, as `NodeCluster` handles it: the node stops serving the collection,
      // then its engines forget it (memory dropped: the next owner replays the WAL).
      await n.node.relinquish("lost");
      await relinquishCollection(
        [n.node.search, ...n.node.engines.records().map((r) => r.store)],
        "lost" as CollectionId,
      );
      held.resolve();
      await n.node.flush("busy").catch(() => undefined); // waits for the held flush
      await new Promise((r) => setTimeout(r, 100)); // the queued job of `lost` runs (or bails out)

      expect(await n.node.catalog.checkpoint("lost")).toBe(0);
      await n.close();
      opened.splice(0);

      // The next owner (here: the same node, restarted on the same roots) replays the WAL.
      const again = await openInProcess(TUNE, { dir, memory });
      opened.push(again);
      const missing: string[] = [];
      for (let i = 100; i < 160; i++) {
        const got = await again.call("GET", `/collections/lost/records/r${i}`);
        if (got.status !== 200) missing.push(`r${i} (${got.status})`);
      }
      expect(missing).toEqual([]);
    },
  );
});
