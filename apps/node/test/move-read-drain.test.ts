/**
 * A record get that began on the source copy before a move's switch-over holds the source's retirement
 * until it ends (`MoveHooks.beforeRetire`, the node's read count): on S3 and Azure the retirement deletes
 * the source objects, on a disk it renames them, and a read still under way would answer 500 `NotFound`
 * (seen on Azurite during an LSM move). Deterministic: the engine's get of one record is held open across
 * the switch-over.
 */
import { FsError } from "@proximadb/core";
import { afterEach, describe, expect, it } from "vitest";
import { deferred } from "./helpers.js";
import { type InProcessNode, openInProcess, quietToml, recordsBody } from "./in-process.js";
import { rootKeys } from "./moves-support.js";

const QUIET = quietToml();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const keys = (n: InProcessNode, url: string, prefix: string) => rootKeys(n.node.config, url, prefix);

describe.each([
  ["memfs", true],
  ["local disk", false],
] as const)("a read spanning a move's switch-over (%s)", (_name, memory) => {
  let n: InProcessNode | undefined;
  afterEach(async () => {
    await n?.close();
    n = undefined;
  });

  it.each(["lsm", "viper"] as const)(
    "%s: the source copy is retired only once the read begun before the switch-over ended",
    async (engine) => {
      n = await openInProcess(QUIET, { memory });
      const node = n;
      expect((await node.call("POST", "/collections", { id: "c1", engine, dimension: 3 })).status).toBe(201);
      const { records } = recordsBody(0, 40);
      expect((await node.call("POST", "/collections/c1/records", { records })).status).toBe(200);
      expect((await node.call("POST", "/collections/c1/flush")).status).toBe(200); // in the engine's files

      // The first get of r7 is held inside the engine (its read counted) until `held` is resolved.
      const impl = node.node.engines.record(engine);
      const get = impl.get.bind(impl);
      const held = deferred();
      const inside = deferred();
      let once = true;
      impl.get = async (id, recordId) => {
        if (recordId === "r7" && once) {
          once = false;
          inside.resolve();
          await held.promise;
        }
        return get(id, recordId);
      };
      const read = node.call("GET", "/collections/c1/records/r7");
      await inside.promise;

      const from = node.node.service.get("c1", engine)?.url as string;
      const to = node.node.service.roots(engine).find((r) => r.url !== from)?.url as string;
      const started = await node.call("POST", "/collections/c1/moves", { component: engine, to });
      expect(started.status).toBe(202);
      const id = started.json.move.id as string;
      const state = async () => (await node.call("GET", `/moves/${id}`)).json.move.state as string;
      for (let t = 0; t < 500 && (await state()) !== "retiring"; t++) await sleep(10);
      expect(await state()).toBe("retiring");
      await sleep(400);
      // Still waiting for the read: the source copy is all there.
      expect(await state()).toBe("retiring");
      expect((await keys(node, from, "c1/")).length).toBeGreaterThan(0);
      // Reads begun after the switch-over go to the new copy and do not hold the move.
      expect((await node.call("GET", "/collections/c1/records/r8")).status).toBe(200);

      held.resolve();
      const answer = await read;
      expect(answer.status).toBe(200);
      expect(answer.json.vector).toEqual([7, 1, 2]);
      for (let t = 0; t < 500 && (await state()) === "retiring"; t++) await sleep(10);
      expect(await state()).toBe("done");
      expect(await keys(node, from, "c1/")).toEqual([]);
      for (const r of records) {
        const got = await node.call("GET", `/collections/c1/records/${r.id}`);
        expect(got.status).toBe(200);
      }
    },
  );

  it("a get whose engine file vanished under it (the retired source copy) is read once more", async () => {
    n = await openInProcess(QUIET, { memory });
    const node = n;
    expect((await node.call("POST", "/collections", { id: "c2", engine: "lsm", dimension: 3 })).status).toBe(
      201,
    );
    const put = { records: [{ id: "a", vector: [1, 2, 3] }] };
    expect((await node.call("POST", "/collections/c2/records", put)).status).toBe(200);
    const impl = node.node.engines.record("lsm");
    const get = impl.get.bind(impl);
    let calls = 0;
    impl.get = async (id, recordId) => {
      if (++calls === 1)
        throw new FsError("NotFound", 'blob read "c2/level-0/00000001.sst": NotFound', {
          key: "c2/level-0/00000001.sst",
        });
      return get(id, recordId);
    };
    const got = await node.call("GET", "/collections/c2/records/a");
    expect(got.status).toBe(200);
    expect(got.json.vector).toEqual([1, 2, 3]);
    expect(calls).toBe(2);
  });
});
