import { type NodeConfig, parseConfigText } from "./config.js";

/**
 * The embedded default: three local roots per component under `<dataDir>/disk1..3` (default `./data`),
 * memory assignment store, loopback server on port 7070.
 */
export function embeddedDefaultToml(): string {
  const disks = (c: string) => `[${[1, 2, 3].map((i) => `"file://data/disk${i}/${c}"`).join(", ")}]`;
  return `# ProximaDB storage node: embedded default (local folders under ./data)
[storage.wal_config]
wal_urls = ${disks("wal")}
distribution_strategy = "RoundRobin"
collection_affinity = false
format = "avro"
sync = "batch"

[storage.viper_config]
data_urls = ${disks("viper")}
distribution_strategy = "Hash"
collection_affinity = true

[storage.lsm_config]
data_urls = ${disks("lsm")}
distribution_strategy = "RoundRobin"

[storage.index_config]
index_urls = ${disks("index")}

[storage.metadata_config]
metadata_urls = ${disks("metadata")}

[assignment_store]
type = "memory"

[server]
host = "127.0.0.1"
port = 7070
`;
}

/** The embedded default configuration, with `./data` resolved against `cwd`. */
export function embeddedDefaultConfig(cwd: string = process.cwd()): NodeConfig {
  return parseConfigText(embeddedDefaultToml(), { baseDir: cwd, source: "embedded default" });
}
