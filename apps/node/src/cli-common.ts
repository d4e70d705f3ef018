import type { DiscoveryEvent } from "@proximadb/discovery";
import { type NodeConfig, loadConfigFile } from "./config.js";
import { embeddedDefaultConfig } from "./default-config.js";

/** Exit codes: 0 ok, 1 runtime failure, 2 configuration or usage error, 3 discovery found problems. */
export const EXIT = { ok: 0, failure: 1, config: 2, problems: 3 } as const;

/** Options every command takes. */
export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

export async function loadConfig(opts: GlobalOptions): Promise<NodeConfig> {
  return opts.config ? loadConfigFile(opts.config) : embeddedDefaultConfig(process.cwd());
}

/**
 * Progress of discovering every root of `config`: a bar on a terminal, otherwise one call of `lines` a
 * root (by default a plain line on stderr).
 */
export async function discoveryProgress(
  config: NodeConfig,
  lines: (e: Extract<DiscoveryEvent, { type: "root-finished" }>) => void = plainLine,
) {
  const totalRoots = countRoots(config);
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import("cli-progress");
    const bar = new cliProgress.SingleBar(
      {
        format: "discovery [{bar}] {value}/{total} roots | {component} {status}",
        stream: process.stderr,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalRoots, 0, { component: "", status: "" });
    return {
      onEvent: (e: DiscoveryEvent) => {
        if (e.type === "root-finished") bar.increment({ component: e.component, status: e.status });
      },
      stop: () => bar.stop(),
    };
  }
  return {
    onEvent: (e: DiscoveryEvent) => {
      if (e.type === "root-finished") lines(e);
    },
    stop: () => undefined,
  };
}

/** How many roots `config` names, over every component. */
export function countRoots(config: NodeConfig): number {
  return Object.values(config.components).reduce((n, c) => n + (c?.roots.length ?? 0), 0);
}

/** One plain stderr line about a root discovery finished. */
export function plainLine(e: Extract<DiscoveryEvent, { type: "root-finished" }>): void {
  process.stderr.write(
    `discovered ${e.component} ${e.url}: ${e.status}, ${e.collections} collections, ${e.files} files\n`,
  );
}
