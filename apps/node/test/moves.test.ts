import type { ComponentType } from "@proximadb/core";
import { afterEach, describe, expect, it } from "vitest";
import { type InProcessNode, openInProcess } from "./in-process.js";
import { rootKeys } from "./moves-support.js";

const DIM = 3;
const vec = (n: number) => [n, n + 0.5, n + 0.25];

/** Small thresholds so flushes and compactions run during the moves. */
const tune = (t: string) =>
  `${t.replace("port = 7070", "port = 0")}\n[engine]\nflush_threshold_bytes = 4096\ncompact_file_count = 3\nbackground_interval_ms = 20\n`;

/** Writers putting new ids until stopped; only answered puts count. */
function writers(n: InProcessNode, collection: string, acked: Set<number>, count = 3) {
  let stop = false;
  let next = 0;
  const lanes = Array.from({ length: count }, async () => {
    while (!stop) {
      const batch = Array.from({ length: 5 }, () => next++);
      const r = await n.call("POST", `/collections/${collection}/records`, {
        records: batch.map((i) => ({ id: `r${i}`, vector: vec(i), metadata: { i } })),
      });
      if (r.status === 200) for (const i of batch) acked.add(i);
      else throw new Error(`put answered ${r.status}: ${JSON.stringify(r.json)}`);
    }
  });
  return async () => {
    stop = true;
    await Promise.all(lanes);
  };
}

/** Polls a move until it is done or failed. */
async function settle(n: InProcessNode, id: string) {
  for (;;) {
    const r = await n.call("GET", `/moves/${id}`);
    if (r.json.move.state === "done" || r.json.move.state === "failed") return r.json.move;
    await new Promise((res) => setTimeout(res, 10));
  }
}

const keys = (n: InProcessNode, url: string, prefix: string) => rootKeys(n.node.config, url, prefix);

/** The root of a component of the collection (`GET /collections/:id`: placements, else its storage). */
// biome-ignore lint/suspicious/noExplicitAny: the node's JSON answer
function where(r: { json: any }, component: ComponentType): string | undefined {
  return r.json.placements[component]?.url ?? r.json.storage?.[component]?.url;
}

async function readAll(n: InProcessNode, collection: string, acked: Set<number>): Promise<number[]> {
  const missing: number[] = [];
  for (const i of acked) {
    const r = await n.call("GET", `/collections/${collection}/records/r${i}`);
    if (r.status !== 200 || JSON.stringify(r.json.vector) !== JSON.stringify(vec(i))) missing.push(i);
  }
  return missing;
}

for (const memory of [true, false]) {
  describe(`moves through the node API (${memory ? "memfs" : "local disk"})`, () => {
    let n: InProcessNode | undefined;
    afterEach(async () => {
      await n?.close();
      n = undefined;
    });

    for (const engine of ["viper", "lsm"] as const) {
      // Metadata (definition, checkpoint) and the index move too; once, with VIPER.
      const components: ComponentType[] =
        engine === "viper" ? [engine, "wal", "metadata", "index"] : [engine, "wal"];
      for (const component of components) {
        it(`moves the ${component} of a ${engine} collection under writes; every acked record reads back, also after a restart`, async () => {
          n = await openInProcess(tune, { memory });
          expect((await n.call("POST", "/collections", { id: "c1", engine, dimension: DIM })).status).toBe(
            201,
          );
          const acked = new Set<number>();
          const stopWriting = writers(n, "c1", acked);
          await new Promise((r) => setTimeout(r, 100));
          const from = where(await n.call("GET", "/collections/c1"), component) as string;
          const roots = n.node.service.roots(component).map((r) => r.url);
          const to = roots.find((u) => u !== from) as string;
          const started = await n.call("POST", "/collections/c1/moves", { component, to });
          expect(started.status).toBe(202);
          expect(started.json.move).toMatchObject({ collection: "c1", component, from, to });
          const done = await settle(n, started.json.move.id);
          await new Promise((r) => setTimeout(r, 50));
          await stopWriting();
          expect(done.state, done.error).toBe("done");
          expect(done.bytesDone).toBeGreaterThan(0);
          expect(where(await n.call("GET", "/collections/c1"), component)).toBe(to);
          expect(await readAll(n, "c1", acked)).toEqual([]);
          const usage = (await n.call("GET", "/collections/c1")).json.storage[component];
          expect(usage.url).toBe(to);
          expect(await keys(n, from, "c1/")).toEqual([]);
          expect(await keys(n, to, "_incoming/")).toEqual([]);
          const dir = n.dir;
          await n.close();
          n = await openInProcess(tune, { memory, dir });
          expect(where(await n.call("GET", "/collections/c1"), component)).toBe(to);
          expect(await readAll(n, "c1", acked)).toEqual([]);
          const [first] = acked;
          const found = await n.call("POST", "/collections/c1/search", {
            vector: vec(first as number),
            k: 1,
          });
          expect(found.json.results[0]?.id).toBe(`r${first}`);
        });
      }
    }

    it("keeps a collection unavailable when a committed move cannot switch over, and the next start finishes it", async () => {
      n = await openInProcess(tune, { memory });
      await n.call("POST", "/collections", { id: "c1", engine: "viper", dimension: DIM });
      await n.call("POST", "/collections/c1/records", { records: [{ id: "a", vector: vec(1) }] });
      const from = n.node.service.get("c1", "viper")?.url as string;
      const to = n.node.service.roots("viper").find((r) => r.url !== from)?.url as string;
      // The assignment store refuses the switch-over (etcd unreachable, say) after the commit record.
      n.node.service.reassign = async () => {
        throw new Error("store unreachable");
      };
      const started = await n.call("POST", "/collections/c1/moves", { component: "viper", to });
      expect((await settle(n, started.json.move.id)).state).toBe("failed");
      const put = await n.call("POST", "/collections/c1/records", { records: [{ id: "b", vector: vec(2) }] });
      expect(put.status).toBe(503);
      expect((await n.call("GET", "/collections/c1/records/a")).status).toBe(503);
      const dir = n.dir;
      await n.close();
      n = await openInProcess(tune, { memory, dir });
      expect(n.node.service.get("c1", "viper")?.url).toBe(to);
      expect((await n.call("GET", "/collections/c1/records/a")).json.vector).toEqual(vec(1));
      expect(await keys(n, from, "c1/")).toEqual([]);
    });

    it("answers 400 for a root of another component, 404 for an unknown collection, 409 for a second move", async () => {
      n = await openInProcess(tune, { memory });
      await n.call("POST", "/collections", { id: "c1", engine: "viper", dimension: DIM });
      const from = n.node.service.get("c1", "viper")?.url as string;
      const to = n.node.service.roots("viper").find((r) => r.url !== from)?.url as string;
      const wrong = n.node.service.roots("lsm")[0]?.url as string;
      expect((await n.call("POST", "/collections/c1/moves", { component: "viper", to: wrong })).status).toBe(
        400,
      );
      expect((await n.call("POST", "/collections/c1/moves", { component: "viper", to: from })).status).toBe(
        400,
      );
      expect((await n.call("POST", "/collections/c1/moves", { component: "metadata", to })).status).toBe(400);
      expect((await n.call("POST", "/collections/nope/moves", { component: "viper", to })).status).toBe(404);
      // Both at once: the second arrives while the first is registered and running.
      const [first, second] = await Promise.all([
        n.call("POST", "/collections/c1/moves", { component: "viper", to }),
        n.call("POST", "/collections/c1/moves", { component: "viper", to }),
      ]);
      expect(first.status).toBe(202);
      expect(second.status).toBe(409);
      expect((await settle(n, first.json.move.id)).state).toBe("done");
      expect((await n.call("GET", "/moves")).json.moves.map((m: { id: string }) => m.id)).toEqual([
        first.json.move.id,
      ]);
      expect((await n.call("GET", "/moves/nope")).status).toBe(404);
      const metrics = await n.app.inject({ method: "GET", url: "/metrics" });
      expect(metrics.body).toMatch(/^proximadb_moves_finished_total\{component="viper",state="done"\} 1$/m);
      expect(metrics.body).toMatch(/^proximadb_moves_started_total\{component="viper"\} 1$/m);
      expect(metrics.body).toMatch(/^proximadb_moves_running 0$/m);
    });
  });
}
