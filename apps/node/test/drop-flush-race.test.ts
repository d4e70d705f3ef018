/**
 * A drop racing flushes: a flush waiting for the one in progress (two `POST …/flush` at once, or a
 * background flush behind an API one) must not run once the drop quiesced the collection. If it did, it
 * would write a WAL checkpoint into the dropped collection's metadata folder after the drop deleted it; a
 * collection created again under the same id would inherit that checkpoint, and after a restart its
 * first records (at or below it) would not be replayed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { deferred, tempDir } from "./helpers.js";
import { type InProcessNode, openInProcess, quietToml, recordsBody } from "./in-process.js";

const QUIET = quietToml();
const records = recordsBody;

describe.each([
  ["memfs", true],
  ["local disk", false],
] as const)("a drop racing flushes (%s)", (_name, memory) => {
  const opened: InProcessNode[] = [];
  afterEach(async () => {
    for (const n of opened.splice(0)) await n.close().catch(() => undefined);
  });

  it.each(["lsm", "viper"] as const)(
    "%s: a flush queued behind the running one writes nothing after the drop; the id created again keeps every record",
    async (engine) => {
      const dir = tempDir();
      const n = await openInProcess(QUIET, { dir, memory });
      opened.push(n);
      expect((await n.call("POST", "/collections", { id: "c1", engine, dimension: 3 })).status).toBe(201);
      expect((await n.call("POST", "/collections/c1/records", records(0, 30))).status).toBe(200);

      // The first flush's write is held until `release`.
      const impl = n.node.engines.record(engine);
      const freeze = impl.freeze.bind(impl);
      const held = deferred();
      const writing = deferred();
      // The second flush's write (if it runs at all) is held until the drop finished (or 2 s passed):
      // the slow write of a large memtable, or of an object store.
      const afterDrop = deferred();
      setTimeout(afterDrop.resolve, 2000);
      let calls = 0;
      impl.freeze = (id) => {
        const frozen = freeze(id);
        const call = ++calls;
        if (call > 2) return frozen;
        return {
          write: async () => {
            if (call === 1) {
              writing.resolve();
              await held.promise;
            } else await afterDrop.promise;
            await frozen.write();
          },
          restore: frozen.restore,
        };
      };
      const flushA = n.node.flush("c1").catch((err: unknown) => err);
      await writing.promise;
      expect((await n.call("POST", "/collections/c1/records", records(30, 10))).status).toBe(200);
      const flushB = n.node.flush("c1").catch((err: unknown) => err); // waits for A
      const drop = n.call("DELETE", "/collections/c1");
      await new Promise((r) => setTimeout(r, 50));
      held.resolve();
      await flushA;
      expect((await drop).status).toBe(200);
      afterDrop.resolve();
      // The waiting flush is refused: the collection was dropped.
      expect(await flushB).toMatchObject({ kind: "NotFound" });

      // The same id again: nothing of the dropped collection's checkpoint is left for it.
      expect((await n.call("POST", "/collections", { id: "c1", engine, dimension: 3 })).status).toBe(201);
      expect(await n.node.catalog.checkpoint("c1")).toBe(0);
      expect((await n.call("POST", "/collections/c1/records", records(100, 20))).status).toBe(200);
      await n.close();
      opened.splice(0);
      const again = await openInProcess(QUIET, { dir, memory });
      opened.push(again);
      const missing: string[] = [];
      for (let i = 100; i < 120; i++) {
        const got = await again.call("GET", `/collections/c1/records/r${i}`);
        if (got.status !== 200) missing.push(`r${i} (${got.status})`);
      }
      expect(missing).toEqual([]);
      expect((await again.call("GET", "/collections/c1/records/r5")).status).toBe(404); // dropped
    },
  );
});
