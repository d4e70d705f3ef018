import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";
import { createHttpServer } from "../src/http.js";
import { NodeMetrics } from "../src/metrics.js";
import { StorageNode } from "../src/node.js";
import { tempDir } from "./helpers.js";

/** A node and its HTTP API in this process, on local roots in a fresh folder (requests by `inject`). */
export interface InProcessNode {
  readonly dir: string;
  readonly node: StorageNode;
  readonly app: FastifyInstance;
  // biome-ignore lint/suspicious/noExplicitAny: responses are arbitrary JSON the tests compare
  call(method: string, url: string, payload?: unknown): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

/** Where {@link openInProcess} puts the roots. */
export interface InProcessOptions {
  /** The folder of the roots (default: a fresh one); the same folder reopens the same node (a restart). */
  readonly dir?: string;
  /** Roots on the process-wide memfs volume (`mem://<folder name>/diskN/…`) instead of local disk. */
  readonly memory?: boolean;
}

/** Opens a node on the embedded default configuration, as `edit` changes its TOML text. */
export async function openInProcess(
  edit: (toml: string) => string = (t) => t,
  options: InProcessOptions = {},
): Promise<InProcessNode> {
  const dir = options.dir ?? tempDir();
  let toml = embeddedDefaultToml();
  if (options.memory) toml = toml.replaceAll("file://data/", `mem://${basename(dir)}/`);
  const config = parseConfigText(edit(toml), { baseDir: dir, source: "test" });
  const logger = pino({ level: "silent" });
  const metrics = new NodeMetrics();
  const node = await StorageNode.open({ config, logger, metrics });
  const app = createHttpServer(node, { logger, metrics });
  return {
    dir,
    node,
    app,
    async call(method, url, payload) {
      const r = await app.inject({
        method: method as "GET",
        url,
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      return { status: r.statusCode, json: r.json() };
    },
    async close() {
      await app.close();
      await node.close();
    },
  };
}

/**
 * The embedded default on port 0, flushed only past `flushThresholdBytes` (default 2 MiB) and with the
 * background timer at a minute: a test decides when flushes happen.
 */
export function quietToml(flushThresholdBytes = 2_097_152): (toml: string) => string {
  return (t) =>
    `${t.replace("port = 7070", "port = 0")}\n[engine]\nbackground_interval_ms = 60000\nflush_threshold_bytes = ${flushThresholdBytes}\n`;
}

/** A `POST /collections/:id/records` body: records `r<from>` … `r<from + count - 1>`, vector `[i, 1, 2]`. */
export function recordsBody(from: number, count: number) {
  return {
    records: Array.from({ length: count }, (_, i) => ({ id: `r${from + i}`, vector: [from + i, 1, 2] })),
  };
}
