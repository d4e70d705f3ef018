import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir } from "./helpers.js";
import { builtNodeSuite } from "./moves-support.js";

const CONFIG = `[storage.wal_config]
wal_urls = ["file://data/disk1/wal", "file://data/disk2/wal"]
[storage.viper_config]
data_urls = ["file://data/disk1/viper", "file://data/disk2/viper"]
[storage.lsm_config]
data_urls = ["file://data/disk1/lsm", "file://data/disk2/lsm", "file://data/disk3/lsm"]
distribution_strategy = "RoundRobin"
[storage.metadata_config]
metadata_urls = ["file://data/disk1/metadata"]
`;

describe("proximadb rebalance execute (built binary, against a running node)", () => {
  const suite = builtNodeSuite();

  it("runs a plan batch by batch, resumes a partly done plan, and a second run finds everything in place", async () => {
    const { node, cwd } = await suite.start(CONFIG);
    const ids = ["k0", "k1", "k2", "k3"];
    for (const id of ids) {
      await node.request("POST", "/collections", { id, engine: "lsm", dimension: 2 });
      await node.request("POST", `/collections/${id}/records`, { records: [{ id: "x", vector: [1, 2] }] });
    }
    const lsm = async (id: string) =>
      (await node.request("GET", `/collections/${id}`)).json.placements.lsm.url as string;
    const disk3 = (await lsm("k0")).replace(/disk\d/, "disk3");
    const moves = [];
    for (const [i, id] of ids.entries()) {
      const from = await lsm(id);
      if (from !== disk3)
        moves.push({ collection: id, component: "lsm", from, to: disk3, bytes: 1, batch: i % 2 });
    }
    expect(moves.length).toBeGreaterThanOrEqual(2);
    writeFileSync(join(cwd, "plan.json"), JSON.stringify({ moves, before: {}, after: {} }));
    // One move done beforehand (a run that stopped half way): executing the plan resumes.
    const first = moves[0] as (typeof moves)[number];
    const manual = await runCli(
      ["move", first.collection, "--component", "lsm", "--to", disk3, "--node", node.url],
      { cwd },
    );
    expect(manual.code, manual.stderr).toBe(0);

    const run = await runCli(["rebalance", "execute", "--plan", "plan.json", "--node", node.url, "--json"], {
      cwd,
    });
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.failed).toBe(0);
    expect(out.moves.map((m: { collection: string; outcome: string }) => [m.collection, m.outcome])).toEqual(
      [...moves]
        .sort((a, b) => a.batch - b.batch)
        .map((m) => [m.collection, m === first ? "already" : "moved"]),
    );
    for (const m of moves) expect(await lsm(m.collection)).toBe(disk3);
    for (const id of ids)
      expect((await node.request("GET", `/collections/${id}/records/x`)).json.vector).toEqual([1, 2]);

    const again = await runCli(["rebalance", "execute", "--plan", "plan.json", "--node", node.url], { cwd });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 moved, \d+ already in place, 0 failed/);
  });

  it("refuses a plan that is not one, exit 1 and one line", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "plan.json"), JSON.stringify({ moves: [{ collection: "a" }] }));
    const r = await runCli(["rebalance", "execute", "--plan", "plan.json", "--node", "http://127.0.0.1:9"], {
      cwd,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("proximadb: moves[0].component must be a non-empty string\n");
  });
});
