import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { measureLocal } from "../src/capacity.js";
import { parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";
import { configError } from "./config-support.js";
import { type RunningNode, runCli, startNode, tempDir } from "./helpers.js";
import { DIM, writeConfig } from "./roots-support.js";

// Roots as tables, [placement], full and nearfull roots (a small capacity_bytes quota), 507 when every
// root is full: through the built binary.

const base = { baseDir: "/srv/node", source: "test.toml" };
const lsmRoots = (entries: string) => (t: string) =>
  t.replace(
    /\[storage\.lsm_config\]\ndata_urls = \[[^\]]*\]/,
    `[storage.lsm_config]\ndata_urls = [${entries}]`,
  );

describe("roots as tables in the configuration", () => {
  it("accepts strings and tables side by side, with defaults from [placement]", () => {
    const c = parseConfigText(
      `${lsmRoots(
        '"file://data/disk1/lsm", { url = "file://data/disk2/lsm", weight = 2.5, state = "cordoned", capacity_bytes = 1000, full_ratio = 0.9 }',
      )(embeddedDefaultToml())}\n[placement]\nnearfull_ratio = 0.8\n`,
      base,
    );
    expect(c.components.lsm?.roots.map((r) => r.url)).toEqual([
      "file:///srv/node/data/disk1/lsm",
      "file:///srv/node/data/disk2/lsm",
    ]);
    expect(c.components.lsm?.rootOptions).toEqual([
      {
        url: "file:///srv/node/data/disk1/lsm",
        weight: 1,
        state: "active",
        capacityBytes: undefined,
        nearfullRatio: 0.8,
        fullRatio: 0.95,
      },
      {
        url: "file:///srv/node/data/disk2/lsm",
        weight: 2.5,
        state: "cordoned",
        capacityBytes: 1000,
        nearfullRatio: 0.8,
        fullRatio: 0.9,
      },
    ]);
    expect(c.placement).toEqual({ nearfullRatio: 0.8, fullRatio: 0.95, checkIntervalMs: 30_000 });
  });

  it.each([
    [
      '{ url = "file://data/d/lsm", weight = 0 }',
      "storage.lsm_config.data_urls[0].weight",
      "weight must be > 0",
    ],
    ['{ url = "file://data/d/lsm", weight = -1 }', "storage.lsm_config.data_urls[0].weight", "(got -1)"],
    [
      '{ url = "file://data/d/lsm", state = "offline" }',
      "storage.lsm_config.data_urls[0].state",
      '"offline"',
    ],
    [
      '{ url = "file://data/d/lsm", capacity_bytes = -5 }',
      "storage.lsm_config.data_urls[0].capacity_bytes",
      "(got -5)",
    ],
    [
      '{ url = "file://data/d/lsm", full_ratio = 1.5 }',
      "storage.lsm_config.data_urls[0].full_ratio",
      "must be <= 1",
    ],
    [
      '{ url = "file://data/d/lsm", colour = "red" }',
      "storage.lsm_config.data_urls[0].colour",
      "unknown key",
    ],
    [
      '{ url = "file://data/d/lsm", nearfull_ratio = 0.9, full_ratio = 0.5 }',
      "storage.lsm_config.data_urls",
      "must not exceed full_ratio",
    ],
  ])("rejects %s at %s", (entry, path, words) => {
    const err = configError(lsmRoots(entry)(embeddedDefaultToml()), base);
    expect(err.path).toBe(path);
    expect(err.message).toContain(words);
  });

  it("rejects a [placement] nearfull_ratio above its full_ratio", () => {
    const err = configError(
      `${embeddedDefaultToml()}\n[placement]\nnearfull_ratio = 0.99\nfull_ratio = 0.9\n`,
      base,
    );
    expect(err.path).toBe("placement");
    expect(err.message).toContain("must not exceed");
  });

  it("the binary refuses a bad weight with exit 2, naming the key", async () => {
    const dir = tempDir();
    writeConfig(dir, lsmRoots('"file://data/disk1/lsm", { url = "file://data/disk2/lsm", weight = -2 }'));
    const r = await runCli(["--config", "proximadb.toml", "config", "check"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("storage.lsm_config.data_urls[1].weight");
  });
});

describe("measuring a local root", () => {
  it("agrees with df on the used and available bytes", async () => {
    const dir = tempDir();
    const m = await measureLocal(dir);
    // df -B1 --output=used,avail: the same statfs figures.
    const [used, avail] = (
      execFileSync("df", ["-B1", "--output=used,avail", dir], { encoding: "utf8" })
        .trim()
        .split("\n")[1] as string
    )
      .trim()
      .split(/\s+/)
      .map(Number);
    expect(Math.abs(m.totalBytes - ((used as number) + (avail as number)))).toBeLessThan(64 << 20);
    expect(m.usedBytes).toBeLessThanOrEqual(m.totalBytes);
  });

  it("measures a root that does not exist yet at its nearest existing parent", async () => {
    const dir = tempDir();
    const missing = await measureLocal(join(dir, "not", "yet", "there"));
    expect(missing.totalBytes).toBeGreaterThan(0);
  });
});

describe("weights, cordoned, nearfull and full roots in a serving node", () => {
  let node: RunningNode;
  let dir: string;
  // disk1 weight 2, disk2 cordoned, disk3 a 1-byte quota (full as soon as its marker is there), disk4 weight 1.
  const roots = [
    '{ url = "file://data/disk1/lsm", weight = 2 }',
    '{ url = "file://data/disk2/lsm", state = "cordoned" }',
    '{ url = "file://data/disk3/lsm", capacity_bytes = 1 }',
    '"file://data/disk4/lsm"',
  ].join(", ");
  const nearfull =
    '"file://data/disk1/metadata", { url = "file://data/disk2/metadata", capacity_bytes = 100000000, nearfull_ratio = 0.000001, full_ratio = 1 }, "file://data/disk3/metadata"';

  beforeAll(async () => {
    dir = tempDir();
    writeConfig(dir, (t) =>
      lsmRoots(roots)(t).replace(/metadata_urls = \[[^\]]*\]/, `metadata_urls = [${nearfull}]`),
    );
    node = await startNode(dir, ["--config", "proximadb.toml", "--log-format", "json"]);
    for (let i = 0; i < 9; i++) {
      const res = await node.request("POST", "/collections", { id: `l${i}`, engine: "lsm", dimension: DIM });
      expect(res.status).toBe(201);
    }
  });
  afterAll(async () => {
    await node?.stop();
  });

  const lsmStats = async () => (await node.request("GET", "/stats")).json.components.lsm.roots;

  it("a weight-2 root takes twice the collections of a weight-1 root", async () => {
    const r = await lsmStats();
    expect(r.map((x: { collections: number }) => x.collections)).toEqual([6, 0, 0, 3]);
  });

  it("a cordoned root and a full root get no new collections", async () => {
    const r = await lsmStats();
    expect(r[1]).toMatchObject({ state: "cordoned", collections: 0 });
    expect(r[2]).toMatchObject({
      collections: 0,
      capacity: { state: "full", source: "quota", totalBytes: 1 },
    });
  });

  it("stats report each measured root's space and weight", async () => {
    const r = await lsmStats();
    expect(r[0]).toMatchObject({ weight: 2, capacity: { source: "statfs" } });
    expect(r[0].capacity.totalBytes).toBeGreaterThan(0);
  });

  it("a nearfull root warns once in the log and still takes collections", async () => {
    const meta = (await node.request("GET", "/stats")).json.components.metadata.roots;
    expect(meta[1].capacity.state).toBe("nearfull");
    expect(meta[1].collections).toBeGreaterThan(0);
    const warnings = node.logs.filter(
      (l) => l.includes("storage root nearly full") && l.includes("disk2/metadata"),
    );
    expect(warnings).toHaveLength(1);
  });

  it("the full root is logged as full", () => {
    expect(node.logs.some((l) => l.includes("storage root full") && l.includes("disk3/lsm"))).toBe(true);
  });

  it("exposes proximadb_root_* gauges", async () => {
    const text = (await node.request("GET", "/metrics")).text;
    const root = `${dir}/data/disk3/lsm`;
    expect(text).toContain(`proximadb_root_full{component="lsm",root="file://${root}",source="quota"} 1`);
    expect(text).toMatch(
      /proximadb_root_nearfull\{component="metadata",root="[^"]*disk2\/metadata",source="quota"\} 1/,
    );
    expect(text).toMatch(
      /proximadb_root_capacity_bytes\{component="lsm",root="[^"]*disk1\/lsm",source="statfs"\} \d+/,
    );
  });
});

describe("every root full", () => {
  let node: RunningNode;
  beforeAll(async () => {
    const dir = tempDir();
    writeConfig(
      dir,
      lsmRoots(
        '{ url = "file://data/disk1/lsm", capacity_bytes = 1 }, { url = "file://data/disk2/lsm", capacity_bytes = 1 }',
      ),
    );
    node = await startNode(dir, ["--config", "proximadb.toml"]);
  });
  afterAll(async () => {
    await node?.stop();
  });

  it("creating a collection there answers 507 naming the full roots, and creates nothing", async () => {
    const res = await node.request("POST", "/collections", { id: "nowhere", engine: "lsm", dimension: DIM });
    expect(res.status).toBe(507);
    expect(res.json.error.kind).toBe("insufficient-storage");
    expect(res.json.error.message).toContain("disk1/lsm");
    expect(res.json.error.message).toContain("disk2/lsm");
    expect((await node.request("GET", "/collections/nowhere")).status).toBe(404);
  });

  it("the node keeps serving: a collection of another engine is created and written", async () => {
    const res = await node.request("POST", "/collections", {
      id: "elsewhere",
      engine: "viper",
      dimension: DIM,
    });
    expect(res.status).toBe(201);
    const put = await node.request("POST", "/collections/elsewhere/records", {
      records: [{ id: "a", vector: [1, 2, 3, 4] }],
    });
    expect(put.status).toBe(200);
  });
});
