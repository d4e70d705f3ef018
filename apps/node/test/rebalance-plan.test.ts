import { rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type RunResult, runCli, startNode, tempDir } from "./helpers.js";
import { DIM, writeConfig } from "./roots-support.js";

// `proximadb rebalance plan` through the built binary: 40 hashed (viper, collection_affinity) collections on
// three roots, then a fourth root is configured.

const hashed = (roots: number) => (t: string) =>
  t.replace(
    /\[storage\.viper_config\]\ndata_urls = \[[^\]]*\]\ndistribution_strategy = "RoundRobin"/,
    `[storage.viper_config]\ndata_urls = [${Array.from({ length: roots }, (_, i) => `"file://data/disk${i + 1}/viper"`).join(", ")}]\ndistribution_strategy = "Hash"\ncollection_affinity = true`,
  );

const dir = tempDir("proximadb-rebalance-");
const ids = Array.from({ length: 40 }, (_, i) => `h${String(i).padStart(2, "0")}`);
const plan = (...extra: string[]) =>
  runCli(["--config", "proximadb.toml", "rebalance", "plan", ...extra], { cwd: dir });

describe("rebalance plan", () => {
  let three: RunResult;
  let four: RunResult;
  let text: RunResult;
  beforeAll(async () => {
    writeConfig(dir, hashed(3));
    const node = await startNode(dir, ["--config", "proximadb.toml"]);
    for (const id of ids) {
      expect(
        (await node.request("POST", "/collections", { id, engine: "viper", dimension: DIM })).status,
      ).toBe(201);
      await node.request("POST", `/collections/${id}/records`, {
        records: [{ id: "a", vector: [1, 2, 3, 4] }],
      });
      expect((await node.request("POST", `/collections/${id}/flush`)).status).toBe(200);
    }
    await node.stop();
    three = await plan("--json", "--by", "count", "--threshold", "0.5");
    writeConfig(dir, hashed(4));
    four = await plan("--json", "--by", "count");
    text = await plan("--by", "count");
  }, 180_000);

  it("prints exactly one JSON object with moves, before and after", () => {
    expect(four.code).toBe(0);
    const lines = four.stdout.trim().split("\n");
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0] as string);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(["moves", "before", "after"]));
    for (const m of out.moves)
      expect(Object.keys(m).sort()).toEqual(["batch", "bytes", "collection", "component", "from", "to"]);
  });

  it("moves hashed collections only onto the new root, and evens it out", () => {
    const out = JSON.parse(four.stdout);
    const viper = out.moves.filter((m: { component: string }) => m.component === "viper");
    expect(viper.length).toBeGreaterThan(0);
    for (const m of viper) expect(m.to).toBe(`file://${join(dir, "data/disk4/viper")}`);
    const dev = (s: { components: { viper: { roots: { deviation: number }[] } } }) =>
      Math.abs(s.components.viper.roots[3]?.deviation as number);
    expect(dev(out.after)).toBeLessThan(dev(out.before));
    expect(out.before.components.viper.roots[3].collections).toBe(0);
    expect(out.after.components.viper.roots[3].collections).toBe(viper.length);
  });

  it("plans nothing for roots already within the threshold", () => {
    expect(three.code).toBe(0);
    expect(
      JSON.parse(three.stdout).moves.filter((m: { component: string }) => m.component === "viper"),
    ).toEqual([]);
  });

  it("is deterministic: the same roots give the same plan", async () => {
    const again = await plan("--json", "--by", "count");
    expect(JSON.parse(again.stdout).moves).toEqual(JSON.parse(four.stdout).moves);
  });

  it("prints a readable plan without --json", () => {
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("viper: unbalanced");
    expect(text.stdout).toMatch(/\d+ moves, \d+ bytes, \d+ batches \(by count, threshold 0.1\)/);
  });

  it("reports an offline root and never moves to or from it", async () => {
    rmSync(join(dir, "data/disk2/viper"), { recursive: true, force: true });
    const r = await plan("--json", "--by", "count");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const gone = `file://${join(dir, "data/disk2/viper")}`;
    expect(out.offline).toEqual(
      expect.arrayContaining([expect.objectContaining({ component: "viper", url: gone })]),
    );
    for (const m of out.moves) expect([m.from, m.to]).not.toContain(gone);
    expect(out.after.components.viper.roots[1].state).toBe("offline");
  });

  it("rejects a bad --by with a usage error (exit 2)", async () => {
    const r = await plan("--by", "files");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--by");
  });
});
