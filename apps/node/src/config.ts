import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import {
  COMPONENT_TYPES,
  type ComponentType,
  ProximaError,
  STRATEGY_NAMES,
  type StorageRoot,
  assertDisjointRoots,
  parseRootList,
} from "@proximadb/core";
import { TomlError, parse as parseToml } from "smol-toml";
import { z } from "zod";
import {
  EF_CONSTRUCTION_ISSUE,
  INDEX_GRAPH_KEYS,
  type IndexDefaults,
  efConstructionAtLeastM,
  indexDefaults,
} from "./index-config.js";
import { BACKENDS_TABLE } from "./config-backends.js";
import { CLUSTER_TABLE, type ClusterConfig, clusterConfig } from "./cluster/config.js";
import { LOG_FORMAT_CHOICES } from "./logging.js";
import { MOVES_TABLE, type MovesConfig, movesConfig } from "./moves/config.js";
import * as rc from "./root-config.js";

/** A configuration problem: names the key path and the bad value; never a secret. */
export class ConfigError extends ProximaError {
  /** Dotted key path, e.g. `storage.wal_config.wal_urls[1]`. */
  readonly path: string;
  constructor(path: string, message: string) {
    super("INVALID_ARGUMENT", path ? `config error at ${path}: ${message}` : `config error: ${message}`);
    this.path = path;
  }
}

/** Per-component TOML table names and the key that holds their URLs (the original design's keys). */
export const COMPONENT_KEYS: Record<ComponentType, { table: string; urls: string }> = {
  wal: { table: "wal_config", urls: "wal_urls" },
  viper: { table: "viper_config", urls: "data_urls" },
  lsm: { table: "lsm_config", urls: "data_urls" },
  index: { table: "index_config", urls: "index_urls" },
  metadata: { table: "metadata_config", urls: "metadata_urls" },
};

const SECRET_KEY = /(secret|password|passwd|token|account_key|access_key|sas|connection_string|credential)/i;

const strategy = z.enum(STRATEGY_NAMES);
const componentBase = {
  distribution_strategy: strategy.default("RoundRobin"),
  collection_affinity: z.boolean().default(false),
  bounded_load: z.number().min(0).max(10).optional(),
};
/** A size in bytes: a whole number from `min` up to 1 GiB, `fallback` when absent. */
const byteSize = (min: number, fallback: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(1 << 30)
    .default(fallback);
const urls = rc.rootListSchema;

const schema = z
  .object({
    storage: z
      .object({
        wal_config: z
          .object({
            wal_urls: urls,
            ...componentBase,
            format: z.enum(["avro", "bincode"]).default("avro"),
            sync: z.enum(["always", "batch", "none"]).default("batch"),
            segment_bytes: byteSize(4096, 64 << 20),
          })
          .strict(),
        viper_config: z.object({ data_urls: urls, ...componentBase }).strict(),
        lsm_config: z.object({ data_urls: urls, ...componentBase }).strict(),
        index_config: z
          .object({ index_urls: urls, ...componentBase, ...INDEX_GRAPH_KEYS })
          .strict()
          .refine(efConstructionAtLeastM, EF_CONSTRUCTION_ISSUE)
          .optional(),
        metadata_config: z.object({ metadata_urls: urls, ...componentBase }).strict(),
      })
      .strict(),
    backends: BACKENDS_TABLE,
    assignment_store: z
      .discriminatedUnion("type", [
        z.object({ type: z.literal("memory") }).strict(),
        z
          .object({
            type: z.literal("etcd"),
            endpoints: z.array(z.url()).min(1),
            cluster: z
              .string()
              .regex(/^[A-Za-z0-9_-]{1,64}$/, "letters, digits, '_' and '-' only")
              .default("default"),
            prefix: z.string().startsWith("/").default("/proximadb"),
          })
          .strict(),
      ])
      .default({ type: "memory" }),
    server: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        node_id: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, '_' or '-'")
          .optional(),
        port: z.number().int().min(0).max(65535).default(7070),
        max_body_bytes: byteSize(1024, 16 << 20),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 7070, max_body_bytes: 16 << 20 }),
    engine: z
      .object({
        flush_threshold_bytes: z
          .number()
          .int()
          .min(1024)
          .default(32 << 20),
        compact_file_count: z.number().int().min(2).default(8),
        background_interval_ms: z.number().int().min(10).default(1000),
        stale_staging_ms: z
          .number()
          .int()
          .min(0)
          .default(60 * 60 * 1000),
      })
      .strict()
      .default({
        flush_threshold_bytes: 32 << 20,
        compact_file_count: 8,
        background_interval_ms: 1000,
        stale_staging_ms: 60 * 60 * 1000,
      }),
    placement: rc.placementSchema,
    log: z
      .object({ format: z.enum(LOG_FORMAT_CHOICES).default("auto") })
      .strict()
      .default({ format: "auto" }),
    deployment: z
      .object({ id: z.uuid().optional(), probe_interval_ms: z.number().int().min(0).default(10_000) })
      .strict()
      .default({ probe_interval_ms: 10_000 }),
    moves: MOVES_TABLE,
    cluster: CLUSTER_TABLE,
  })
  .strict();

/** The raw, schema-checked configuration (TOML keys). */
export type RawConfig = z.infer<typeof schema>;

/** One component's validated placement settings. */
export interface ComponentConfig {
  readonly component: ComponentType;
  readonly roots: readonly StorageRoot[];
  readonly strategy: (typeof STRATEGY_NAMES)[number];
  readonly collectionAffinity: boolean;
  readonly boundedLoad: number | undefined;
  /** Each root's weight, state and capacity settings (same order as `roots`). */
  readonly rootOptions: readonly rc.RootOptions[];
}

/** A validated node configuration. */
export interface NodeConfig {
  /** Where the configuration came from (`embedded default` or a file path). */
  readonly source: string;
  readonly components: Readonly<Partial<Record<ComponentType, ComponentConfig>>>;
  readonly wal: {
    readonly format: "avro" | "bincode";
    readonly sync: "always" | "batch" | "none";
    readonly segmentBytes: number;
  };
  readonly backends: RawConfig["backends"];
  readonly assignmentStore: RawConfig["assignment_store"];
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly maxBodyBytes: number;
    /** This node's id in staging file names (default: derived from the host name). */
    readonly nodeId: string;
  };
  readonly engine: {
    readonly flushThresholdBytes: number;
    readonly compactFileCount: number;
    readonly backgroundIntervalMs: number;
    /**
     * Staging of another writer is removed at start only when that writer is not running (no fresh
     * heartbeat) and the file is older than this; this node's own leftovers always are.
     */
    readonly staleStagingMs: number;
  };
  /** `[placement]`: capacity thresholds and how often roots are measured. */
  readonly placement: rc.PlacementConfig;
  /** `[storage.index_config]` graph defaults for new indexes (unset: the index engine's defaults). */
  readonly index: IndexDefaults;
  readonly log: {
    /** `auto`: readable lines on a terminal, JSON lines otherwise (`serve --log-format` overrides). */
    readonly format: (typeof LOG_FORMAT_CHOICES)[number];
  };
  readonly deployment: {
    /** The deployment UUID the roots must carry (markers of any other are foreign); default: the markers'. */
    readonly id: string | undefined;
    /** How often a serving node re-reads every root's marker (0: never). */
    readonly probeIntervalMs: number;
  };
  /** `[moves]`: bandwidth of all moves together (0: unlimited) and how many run at once. */
  readonly moves: MovesConfig;
  /** `[cluster]`: membership and ownership with an etcd assignment store. */
  readonly cluster: ClusterConfig;
}

/** The host name reduced to `[A-Za-z0-9_-]{1,64}`: stable across restarts, so a node finds its own staging. */
export function defaultNodeId(): string {
  const id = hostname()
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .slice(0, 64);
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : "node";
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)),
    "",
  );
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path)
    v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function showValue(path: string, v: unknown): string {
  if (SECRET_KEY.test(path)) return "(hidden)";
  if (v === undefined) return "missing";
  const s = JSON.stringify(v);
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function rejectSecrets(raw: unknown, path: string[] = []): void {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return;
  for (const [k, v] of Object.entries(raw)) {
    const here = [...path, k];
    if (SECRET_KEY.test(k)) {
      throw new ConfigError(
        here.join("."),
        "secrets are not read from the config file; set them in the environment (see the README)",
      );
    }
    rejectSecrets(v, here);
  }
}

/** Runs `fn`; a typed error it throws becomes a {@link ConfigError} at `path`. */
function atPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw err instanceof ProximaError ? new ConfigError(path, err.message) : err;
  }
}

/**
 * Validates a parsed TOML document. `baseDir` resolves relative `file:` roots (the config file's folder).
 * Throws {@link ConfigError} naming the key path and the bad value.
 */
export function validateConfig(raw: unknown, options: { baseDir: string; source: string }): NodeConfig {
  rejectSecrets(raw);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const unknownKey = issue.code === "unrecognized_keys" ? issue.keys[0] : undefined;
    const path = formatPath(unknownKey ? [...issue.path, unknownKey] : issue.path);
    const value = unknownKey ? "" : ` (got ${showValue(path, valueAt(raw, issue.path))})`;
    throw new ConfigError(path, `${unknownKey ? "unknown key" : issue.message}${value}`);
  }
  const c = parsed.data;
  const placement = atPath("placement", () => rc.placementConfig(c.placement));
  const components: Partial<Record<ComponentType, ComponentConfig>> = {};
  const all: StorageRoot[] = [];
  for (const component of COMPONENT_TYPES) {
    const keys = COMPONENT_KEYS[component];
    const table = (c.storage as Record<string, Record<string, unknown> | undefined>)[keys.table];
    if (!table) continue;
    const entries = table[keys.urls] as rc.RootEntry[];
    const list = rc.rootUrls(entries);
    let roots: StorageRoot[];
    try {
      roots = parseRootList(list, { baseDir: options.baseDir });
    } catch (err) {
      if (err instanceof ProximaError) {
        const bad = list.findIndex((u) => (err as Error).message.includes(JSON.stringify(u)));
        throw new ConfigError(`storage.${keys.table}.${keys.urls}${bad >= 0 ? `[${bad}]` : ""}`, err.message);
      }
      throw err;
    }
    all.push(...roots);
    const at = `storage.${keys.table}.${keys.urls}`;
    const settings = atPath(at, () => rc.rootOptions(entries, roots, placement, at));
    components[component] = {
      component,
      roots,
      strategy: table.distribution_strategy as ComponentConfig["strategy"],
      collectionAffinity: table.collection_affinity as boolean,
      boundedLoad: table.bounded_load as number | undefined,
      rootOptions: settings,
    };
  }
  // Roots of different components must not overlap either: a collection folder would hold two components.
  try {
    assertDisjointRoots(all);
  } catch (err) {
    throw new ConfigError(
      "storage",
      `${(err as Error).message} (roots must be disjoint across components too)`,
    );
  }
  const w = c.storage.wal_config;
  return {
    source: options.source,
    components,
    wal: { format: w.format, sync: w.sync, segmentBytes: w.segment_bytes },
    backends: c.backends,
    assignmentStore: c.assignment_store,
    server: {
      host: c.server.host,
      port: c.server.port,
      maxBodyBytes: c.server.max_body_bytes,
      nodeId: c.server.node_id ?? defaultNodeId(),
    },
    engine: {
      flushThresholdBytes: c.engine.flush_threshold_bytes,
      compactFileCount: c.engine.compact_file_count,
      backgroundIntervalMs: c.engine.background_interval_ms,
      staleStagingMs: c.engine.stale_staging_ms,
    },
    placement,
    index: indexDefaults(c.storage.index_config),
    log: { format: c.log.format },
    deployment: { id: c.deployment.id, probeIntervalMs: c.deployment.probe_interval_ms },
    moves: movesConfig(c.moves),
    cluster: clusterConfig(c.cluster),
  };
}

/** Parses TOML text; syntax errors become a {@link ConfigError} with line and column. */
export function parseConfigText(text: string, options: { baseDir: string; source: string }): NodeConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError)
      throw new ConfigError("", `${options.source}:${err.line}:${err.column}: ${err.message.split("\n")[0]}`);
    throw err;
  }
  return validateConfig(raw, options);
}

/** Reads and validates a TOML config file; relative `file:` roots resolve against its folder. */
export async function loadConfigFile(path: string): Promise<NodeConfig> {
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch (err) {
    throw new ConfigError(
      "",
      `cannot read config file ${abs}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return parseConfigText(text, { baseDir: dirname(abs), source: abs });
}
