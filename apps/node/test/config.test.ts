import { describe, expect, it } from "vitest";
import { parseConfigText } from "../src/config.js";
import { embeddedDefaultConfig, embeddedDefaultToml } from "../src/default-config.js";
import { configError, withRoot } from "./config-support.js";

const base = { baseDir: "/etc/proximadb", source: "test.toml" };
const good = embeddedDefaultToml();

describe("node configuration", () => {
  it("embedded default: three local roots per component under ./data", () => {
    const c = embeddedDefaultConfig("/srv/node");
    expect(c.components.wal?.roots.map((r) => r.url)).toEqual([
      "file:///srv/node/data/disk1/wal",
      "file:///srv/node/data/disk2/wal",
      "file:///srv/node/data/disk3/wal",
    ]);
    expect(Object.keys(c.components).sort()).toEqual(["index", "lsm", "metadata", "viper", "wal"]);
    expect(c.server).toMatchObject({ host: "127.0.0.1", port: 7070 });
    expect(c.assignmentStore).toEqual({ type: "memory" });
  });

  it("resolves relative file roots against the config file's folder", () => {
    const c = parseConfigText(good, base);
    expect(c.components.viper?.roots[0]?.url).toBe("file:///etc/proximadb/data/disk1/viper");
  });

  it.each([
    ["unknown scheme", withRoot("wal", 1, "ftp://x/wal"), "storage.wal_config.wal_urls[0]", "ftp://x/wal"],
    [
      "nested roots",
      withRoot("wal", 2, "file://data/disk1/wal/sub"),
      "storage.wal_config.wal_urls",
      "lies inside",
    ],
    [
      "duplicate roots",
      withRoot("lsm", 2, "file://data/disk1/lsm"),
      "storage.lsm_config.data_urls",
      "more than once",
    ],
    [
      "empty root list",
      good.replace(/data_urls = \[[^\]]*lsm"\]/, "data_urls = []"),
      "storage.lsm_config.data_urls",
      "at least one",
    ],
    [
      "bad strategy",
      good.replace('distribution_strategy = "Hash"', 'distribution_strategy = "Random"'),
      "storage.viper_config.distribution_strategy",
      '"Random"',
    ],
    [
      "bad sync policy",
      good.replace('sync = "batch"', 'sync = "sometimes"'),
      "storage.wal_config.sync",
      '"sometimes"',
    ],
    ["bad port", good.replace("port = 7070", "port = 70000"), "server.port", "70000"],
    ["unknown key", good.replace("[server]", "[server]\nhots = 1"), "server.hots", "unknown key"],
    [
      "secret in file",
      `${good}\n[backends.s3]\nsecret_access_key = "abc123"`,
      "backends.s3.secret_access_key",
      "environment",
    ],
    [
      "bad store type",
      good.replace('type = "memory"', 'type = "zookeeper"'),
      "assignment_store.type",
      '"zookeeper"',
    ],
    [
      "credentials in URL",
      withRoot("index", 1, "s3://AKIA:hunter2@bucket/index"),
      "storage.index_config.index_urls",
      "credentials",
    ],
    ["overlap across components", withRoot("index", 1, "file://data/disk1/wal/index"), "storage", "inside"],
    [
      "retry delay out of range",
      `${good}\n[backends.azure]\nretry_base_delay_ms = -1`,
      "backends.azure.retry_base_delay_ms",
      "backends.azure.retry_base_delay_ms",
    ],
  ])("rejects %s, naming the key", (_, text, path, fragment) => {
    const err = configError(text, base);
    expect(err.path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toContain(fragment);
    expect(err.message).not.toContain("hunter2");
    expect(err.message).not.toContain("abc123");
  });

  it("reads the cloud backends' retry delays, unset by default (the adapters' own defaults apply)", () => {
    const c = parseConfigText(
      `${good}\n[backends.s3]\nretry_base_delay_ms = 50\nmax_retry_delay_ms = 1000\n[backends.gcs]\nmax_retries = 3`,
      base,
    );
    expect(c.backends.s3).toMatchObject({
      retry_base_delay_ms: 50,
      max_retry_delay_ms: 1000,
      max_attempts: 8,
    });
    expect(c.backends.gcs?.retry_base_delay_ms).toBeUndefined();
    expect(c.backends.gcs?.max_retry_delay_ms).toBeUndefined();
  });

  it("reports TOML syntax errors with line and column", () => {
    expect(configError("[storage\nx=1", base).message).toMatch(/test\.toml:\d+:\d+/);
  });
});
