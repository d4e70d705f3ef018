import { ConfigError, parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";

/** Where a test's configuration text "lives": relative roots resolve against `baseDir`. */
export type ConfigBase = Parameters<typeof parseConfigText>[1];

/**
 * The {@link ConfigError} that parsing `text` raises; throws when the text parses, or when parsing fails
 * with another error (so a test cannot pass on the wrong failure).
 */
export function configError(text: string, base: ConfigBase): ConfigError {
  try {
    parseConfigText(text, base);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

/** Tables of a node configuration, by table name (`"storage.wal_config"`, `"server"`, …). */
export type ConfigTables = Record<string, Record<string, unknown>>;

/**
 * The TOML text of `tables`: each value written as JSON, which TOML reads the same for the strings,
 * numbers, booleans and arrays of them that a node configuration holds.
 */
export function configToml(tables: ConfigTables): string {
  return Object.entries(tables)
    .map(
      ([table, keys]) =>
        `[${table}]\n${Object.entries(keys)
          .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
          .join("\n")}\n`,
    )
    .join("\n");
}

/**
 * A node `nodeId` on two local disks under its folder (`data/disk1`, `data/disk2`; metadata on the
 * first) whose flushes and compactions come within a short test: a 4 KiB flush threshold, a compaction
 * at 3 files, background work every 20 ms. `more` adds keys to (or overrides keys of) its tables.
 */
export function twoDiskToml(nodeId: string, more: ConfigTables = {}): string {
  const disks = (component: string) =>
    ["file://data/disk1", "file://data/disk2"].map((d) => `${d}/${component}`);
  const tables: ConfigTables = {
    "storage.wal_config": { wal_urls: disks("wal") },
    "storage.viper_config": { data_urls: disks("viper") },
    "storage.lsm_config": { data_urls: disks("lsm") },
    "storage.metadata_config": { metadata_urls: ["file://data/disk1/metadata"] },
    server: { node_id: nodeId },
    engine: { flush_threshold_bytes: 4096, compact_file_count: 3, background_interval_ms: 20 },
  };
  for (const [table, keys] of Object.entries(more)) tables[table] = { ...tables[table], ...keys };
  return configToml(tables);
}

/**
 * The embedded default configuration with the root of `component` on disk `disk` (1 to 3,
 * `file://data/disk<disk>/<component>`) replaced by `url`.
 */
export function withRoot(component: string, disk: number, url: string): string {
  return embeddedDefaultToml().replace(`"file://data/disk${disk}/${component}"`, JSON.stringify(url));
}
