import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { embeddedDefaultToml } from "../src/default-config.js";
import { withRoot } from "./config-support.js";
import { runCli, tempDir } from "./helpers.js";

const good = embeddedDefaultToml();

/** Ten kinds of bad configuration: [name, TOML text, key path the error must name]. */
const BAD: [string, string, string][] = [
  ["unknown URL scheme", withRoot("wal", 1, "ftp://host/wal"), "storage.wal_config.wal_urls[0]"],
  ["nested roots", withRoot("viper", 2, "file://data/disk1/viper/inner"), "storage.viper_config.data_urls"],
  ["duplicate roots", withRoot("lsm", 2, "file://data/disk1/lsm"), "storage.lsm_config.data_urls"],
  [
    "empty root list",
    good.replace(/metadata_urls = \[[^\]]*\]/, "metadata_urls = []"),
    "storage.metadata_config.metadata_urls",
  ],
  [
    "unknown strategy",
    good.replace('distribution_strategy = "Hash"', 'distribution_strategy = "Random"'),
    "storage.viper_config.distribution_strategy",
  ],
  ["bad WAL format", good.replace('format = "avro"', 'format = "protobuf"'), "storage.wal_config.format"],
  ["port out of range", good.replace("port = 7070", "port = 99999"), "server.port"],
  ["misspelt key", good.replace("[server]", '[server]\nhots = "0.0.0.0"'), "server.hots"],
  [
    "secret in the file",
    `${good}\n[backends.s3]\nsecret_access_key = "hunter2-secret"\n`,
    "backends.s3.secret_access_key",
  ],
  [
    "unknown assignment store",
    good.replace('type = "memory"', 'type = "zookeeper"'),
    "assignment_store.type",
  ],
  [
    "etcd without endpoints",
    good.replace('type = "memory"', 'type = "etcd"\nendpoints = []'),
    "assignment_store.endpoints",
  ],
  ["roots overlapping across components", withRoot("index", 3, "file://data/disk3/wal/index"), "storage"],
];

describe("proximadb CLI: configuration errors", () => {
  it.each(BAD)("%s: exits 2 naming the key, before touching any root", async (_name, text, key) => {
    const dir = tempDir();
    writeFileSync(join(dir, "proximadb.toml"), text);
    for (const command of [
      ["serve", "--port", "0"],
      ["config", "check"],
    ]) {
      const r = await runCli(["--config", "proximadb.toml", ...command], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(key);
      expect(r.stderr.trim().split("\n")).toHaveLength(1); // one clear line, no stack
      expect(r.stderr).not.toContain("hunter2-secret");
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readdirSync(dir)).toEqual(["proximadb.toml"]); // no ./data, no root created
  });

  it("a missing config file is a config error (exit 2)", async () => {
    const dir = tempDir();
    const r = await runCli(["--config", "nope.toml", "config", "check"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("nope.toml");
  });

  it("an adls root without credentials in the environment is a config error", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "p.toml"), withRoot("index", 1, "adls://acct1/container1/index"));
    const env = { AZURE_STORAGE_CONNECTION_STRING: "", AZURE_STORAGE_KEY: "", AZURE_STORAGE_SAS_TOKEN: "" };
    const r = await runCli(["--config", "p.toml", "config", "check"], { cwd: dir, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("backends.azure");
    expect(r.stderr).toContain("AZURE_STORAGE_CONNECTION_STRING");
  });

  it("config check accepts the embedded default and lists every component", async () => {
    const dir = tempDir();
    const r = await runCli(["config", "check"], { cwd: dir });
    expect(r.code).toBe(0);
    for (const c of ["wal", "viper", "lsm", "index", "metadata"]) expect(r.stdout).toContain(`${c}: 3 roots`);
    expect(r.stdout).toContain(`file://${dir}/data/disk1/wal`);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("proximadb CLI: commands", () => {
  it("--help works on every command, --version prints the version", async () => {
    const dir = tempDir();
    for (const args of [
      ["--help"],
      ["serve", "--help"],
      ["discover", "--help"],
      ["stats", "--help"],
      ["assign", "--help"],
      ["config", "check", "--help"],
    ]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toContain("Usage: proximadb");
    }
    const v = await runCli(["--version"], { cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("an unknown command or a bad flag value is a usage error (exit 2)", async () => {
    const dir = tempDir();
    expect((await runCli(["frobnicate"], { cwd: dir })).code).toBe(2);
    expect((await runCli(["serve", "--port", "http"], { cwd: dir })).code).toBe(2);
    const r = await runCli(["assign", "orders", "--component", "cache"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown component "cache"');
    expect(readdirSync(dir)).toEqual([]);
  });

  it("discover --json is read-only: prints one JSON object, creates nothing, exits 3 for roots not yet initialised", async () => {
    const dir = tempDir();
    const r = await runCli(["discover", "--json"], { cwd: dir });
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout); // exactly one JSON object
    expect(Object.keys(report)).toEqual(["components", "deployment"]);
    expect(Object.keys(report.components).sort()).toEqual(["index", "lsm", "metadata", "viper", "wal"]);
    // Absent and known to no marker: `new` (a first start initialises it), not `missing` (a lost root).
    expect(report.components.wal.roots[0]).toEqual({
      url: `file://${dir}/data/disk1/wal`,
      index: 0,
      status: "new",
      collections: 0,
      files: 0,
      bytes: 0,
      detail: "new: no marker knows it and it does not exist",
    });
    expect(report.deployment).toEqual({ format: 0, version: 0, problems: [], warnings: [] });
    expect(readdirSync(dir)).toEqual([]); // not even the missing roots
  });

  it("discover exits 0 on clean roots and 3 when a collection is in two roots (the report is still printed)", async () => {
    const dir = tempDir();
    expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
    expect((await runCli(["discover", "--json"], { cwd: dir })).code).toBe(0);
    for (const d of [1, 2]) {
      mkdirSync(join(dir, "data", `disk${d}`, "wal", "orders"), { recursive: true });
      writeFileSync(join(dir, "data", `disk${d}`, "wal", "orders", "wal-00000000000000000001.bincode"), "x");
    }
    const r = await runCli(["discover", "--json"], { cwd: dir });
    expect(r.code).toBe(3);
    const conflicts = JSON.parse(r.stdout).components.wal.conflicts;
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0].collection).toBe("orders");
    expect(conflicts[0].urls).toEqual([`file://${dir}/data/disk1/wal`, `file://${dir}/data/disk2/wal`]);
  });

  it("stats draws one bar per root; assign explains that a memory-store placement is not persisted", async () => {
    const dir = tempDir();
    expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
    mkdirSync(join(dir, "data", "disk2", "lsm", "orders"), { recursive: true });
    writeFileSync(join(dir, "data", "disk2", "lsm", "orders", "00000001.sst"), "12345");
    const s = await runCli(["stats"], { cwd: dir });
    expect(s.code).toBe(0);
    const lsmLines = s.stdout.split("\n").filter((l) => l.includes("/lsm "));
    expect(lsmLines).toHaveLength(3);
    expect(lsmLines[1]).toContain("█".repeat(30));
    expect(lsmLines[0]).toContain("░".repeat(30));
    const json = JSON.parse((await runCli(["stats", "--json"], { cwd: dir })).stdout);
    const lsm = json.components.find((c: { component: string }) => c.component === "lsm");
    expect(lsm.roots.map((r: { collections: number }) => r.collections)).toEqual([0, 1, 0]);
    expect(lsm.skew).toBe(3);

    const existing = await runCli(["assign", "orders", "--component", "lsm", "--json"], { cwd: dir });
    expect(JSON.parse(existing.stdout)).toMatchObject({
      url: `file://${dir}/data/disk2/lsm`,
      index: 1,
      status: "existing",
    });
    const placed = await runCli(["assign", "fresh", "--component", "wal"], { cwd: dir });
    expect(placed.code).toBe(0);
    expect(placed.stdout).toContain("not persisted");
    expect(existsSync(join(dir, "data", "disk1", "wal", "fresh"))).toBe(false);
  });
});
