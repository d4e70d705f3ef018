#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ComponentType, InvalidComponentError, ProximaError, parseComponentType } from "@proximadb/core";
import type { DiscoveryEvent } from "@proximadb/discovery";
import { Command, CommanderError, InvalidArgumentError as CommanderArgumentError, Option } from "commander";
import { ConfigError, type NodeConfig, embeddedDefaultConfig, loadConfigFile } from "./config.js";
import type { OpenRoots, discoverComponents as DiscoverComponents } from "./startup.js";

// Engines, the HTTP server and the discovery code are imported by the commands that use them: `--help`,
// `--version` and configuration errors answer without loading Parquet, Fastify or cloud SDKs.
const startup = () => import("./startup.js");

/** Exit codes: 0 ok, 1 runtime failure, 2 configuration or usage error, 3 discovery found problems. */
export const EXIT = { ok: 0, failure: 1, config: 2, problems: 3 } as const;

/** A usage error (bad flag value): exit 2. */
class UsageError extends Error {}

interface GlobalOptions {
  config?: string;
  verbose?: boolean;
}

function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "package.json"), "utf8"),
    );
    return String(pkg.version);
  } catch {
    return "unknown";
  }
}

async function loadConfig(opts: GlobalOptions): Promise<NodeConfig> {
  return opts.config ? loadConfigFile(opts.config) : embeddedDefaultConfig(process.cwd());
}

/** Progress of discovery: a bar on a terminal, plain lines on stderr otherwise. */
async function discoveryProgress(
  totalRoots: number,
  lines: (e: Extract<DiscoveryEvent, { type: "root-finished" }>) => void,
) {
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

function countRoots(config: NodeConfig): number {
  return Object.values(config.components).reduce((n, c) => n + (c?.roots.length ?? 0), 0);
}

function plainLine(e: Extract<DiscoveryEvent, { type: "root-finished" }>): void {
  process.stderr.write(
    `discovered ${e.component} ${e.url}: ${e.status}, ${e.collections} collections, ${e.files} files\n`,
  );
}

/** Read-only discovery of every component (nothing is created, not even a missing root). */
async function readOnlyDiscovery(config: NodeConfig) {
  const { openRoots, discoverComponents } = await startup();
  const roots = await openRoots(config);
  const progress = await discoveryProgress(countRoots(config), plainLine);
  try {
    return await discoverComponents(roots, progress.onEvent);
  } finally {
    progress.stop();
    await roots.close();
  }
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CommanderArgumentError("must be an integer in 0..65535");
  return n;
}

async function serve(opts: GlobalOptions & { port?: number; host?: string }): Promise<void> {
  let config = await loadConfig(opts);
  if (opts.port !== undefined || opts.host !== undefined) {
    config = {
      ...config,
      server: {
        ...config.server,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host ? { host: opts.host } : {}),
      },
    };
  }
  const [{ pino }, { NodeMetrics }, { StorageNode, describe }, { createHttpServer }] = await Promise.all([
    import("pino"),
    import("./metrics.js"),
    import("./node.js"),
    import("./http.js"),
  ]);
  const logger = pino({ name: "proximadb", level: opts.verbose ? "debug" : "info" });
  const metrics = new NodeMetrics();
  logger.info({ config: config.source, store: config.assignmentStore.type }, "starting");
  const progress = await discoveryProgress(countRoots(config), (e) =>
    logger.info(
      { component: e.component, root: e.url, status: e.status, collections: e.collections, files: e.files },
      "root discovered",
    ),
  );
  let node: Awaited<ReturnType<typeof StorageNode.open>>;
  try {
    node = await StorageNode.open({
      config,
      logger,
      metrics,
      onDiscoveryEvent: progress.onEvent,
      onDiscovered: () => progress.stop(),
    });
  } finally {
    progress.stop();
  }
  logger.info(
    { collections: node.collections().length, orphans: node.orphans.length, timings: node.openTimings },
    "engines open",
  );
  node.startBackground();
  const app = createHttpServer(node, { logger, metrics });
  let address: string;
  try {
    address = await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await node.close();
    throw err;
  }
  logger.info({ address }, "listening");
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down: draining requests, syncing the WAL");
      (async () => {
        await app.close();
        await node.close();
        logger.info("stopped");
      })()
        .catch((err) => {
          logger.error({ err: describe(err) }, "shutdown failed");
          process.exitCode = EXIT.failure;
        })
        .finally(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
}

async function discoverCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const reports = await readOnlyDiscovery(config);
  const { discoverJson, hasProblems } = await import("./report.js");
  const out = discoverJson(reports);
  if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    for (const [component, c] of Object.entries(out.components)) {
      process.stdout.write(`${component}\n`);
      for (const r of c.roots)
        process.stdout.write(
          `  [${r.index}] ${r.url}  ${r.status}  ${r.collections} collections, ${r.files} files, ${r.bytes} bytes\n`,
        );
      for (const x of c.conflicts)
        process.stdout.write(`  conflict: ${x.collection} in ${x.urls.join(", ")}; live copy ${x.chosen}\n`);
      if (c.ignored.length > 0) process.stdout.write(`  ignored: ${c.ignored.length} entries\n`);
    }
  }
  return hasProblems(reports) ? EXIT.problems : EXIT.ok;
}

async function statsCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const { statsFromReports, renderStats } = await import("./report.js");
  const stats = statsFromReports(await readOnlyDiscovery(config));
  process.stdout.write(opts.json ? `${JSON.stringify({ components: stats })}\n` : `${renderStats(stats)}\n`);
  return EXIT.ok;
}

async function assignCommand(
  collection: string,
  opts: GlobalOptions & { component: string; json?: boolean },
): Promise<number> {
  let component: ComponentType;
  try {
    component = parseComponentType(opts.component);
  } catch (err) {
    if (err instanceof InvalidComponentError) throw new UsageError(err.message);
    throw err;
  }
  const config = await loadConfig(opts);
  if (!config.components[component]) throw new UsageError(`component ${component} has no roots configured`);
  const { openAssignmentStore, createAssignmentService, openRoots, discoverComponents, initializableRoots } =
    await startup();
  const { recordInto } = await import("@proximadb/discovery");
  const store = await openAssignmentStore(config);
  const service = createAssignmentService(config, store);
  const roots = await openRoots(config);
  try {
    await service.load();
    const progress = await discoveryProgress(countRoots(config), plainLine);
    const reports = await discoverComponents(roots, progress.onEvent).finally(() => progress.stop());
    for (const report of Object.values(reports)) {
      await recordInto(service, report);
      // `serve` would initialise these roots on its first start: place as it would.
      for (const url of initializableRoots(report)) service.setRootState(report.component, url, "active");
    }
    let status: "existing" | "defined" | "placed";
    let url: string;
    const known = service.get(collection, component);
    const defined = known ? undefined : await definedPlacement(roots, reports, collection, component);
    if (known) {
      status = "existing";
      url = known.url;
    } else if (defined) {
      status = "defined";
      url = defined;
    } else {
      status = "placed";
      url = (await service.assign(collection, component)).url;
    }
    const index = service.rootIndex(component, url);
    const persisted = config.assignmentStore.type !== "memory" || status !== "placed";
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ collection, component, url, index, status, persisted })}\n`);
    } else {
      const what = {
        existing: "already lives in",
        defined: "is defined (collection.json) in",
        placed: "would be placed in",
      }[status];
      process.stdout.write(`${component} of ${collection} ${what} ${url} (root ${index})\n`);
      if (!persisted) {
        process.stdout.write(
          'note: with the memory assignment store this placement is not persisted; the collection\'s directory is created when data is first written (POST /collections does that). Configure [assignment_store] type = "etcd" to reserve placements without data.\n',
        );
      }
    }
    return EXIT.ok;
  } finally {
    service.close();
    await roots.close();
    await store.close?.();
  }
}

/** The placement a collection.json records for a component, when the collection has a definition. */
async function definedPlacement(
  roots: OpenRoots,
  reports: Awaited<ReturnType<typeof DiscoverComponents>>,
  collection: string,
  component: ComponentType,
): Promise<string | undefined> {
  const found = reports.metadata?.collections[collection];
  const fs = found ? roots.byUrl.get(found.url) : undefined;
  if (!fs) return undefined;
  try {
    const { parseDefinition, DEFINITION_FILE } = await import("./collection.js");
    const def = parseDefinition(
      new TextDecoder().decode(await fs.read(`${collection}/${DEFINITION_FILE}`)),
      DEFINITION_FILE,
    );
    return (def.placements as Record<string, { url: string } | undefined>)[component]?.url;
  } catch {
    return undefined;
  }
}

async function configCheck(opts: GlobalOptions): Promise<number> {
  const config = await loadConfig(opts);
  const { fileSystemOpener } = await import("./storage.js");
  await fileSystemOpener(config); // backend settings and credentials present (nothing is contacted)
  process.stdout.write(`config OK (${config.source})\n`);
  for (const [component, c] of Object.entries(config.components)) {
    const strategy = c.collectionAffinity ? "Hash (collection_affinity)" : c.strategy;
    process.stdout.write(`  ${component}: ${c.roots.length} roots, ${strategy}\n`);
    for (const r of c.roots) process.stdout.write(`    ${r.url}\n`);
  }
  process.stdout.write(
    `  assignment store: ${config.assignmentStore.type}\n  server: ${config.server.host}:${config.server.port}\n`,
  );
  return EXIT.ok;
}

/** Builds the `proximadb` command line. */
export function buildProgram(run: (code: number) => void): Command {
  const program = new Command("proximadb")
    .description(
      "ProximaDB storage node: placement of WAL, VIPER, LSM, index and metadata over storage roots",
    )
    .version(version(), "-V, --version")
    .option("-c, --config <file>", "TOML configuration file (default: embedded, local folders under ./data)")
    .option("-v, --verbose", "debug logs and stack traces")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals() as GlobalOptions;

  program
    .command("serve")
    .description("discover every root, recover, open the engines and serve the HTTP API")
    .addOption(
      new Option("-p, --port <port>", "override [server] port (0 = any free port)").argParser(parsePort),
    )
    .option("--host <host>", "override [server] host")
    .action(async (_o, cmd: Command) => {
      await serve(globals(cmd) as GlobalOptions & { port?: number; host?: string });
      run(EXIT.ok);
    });
  program
    .command("discover")
    .description(
      "report the collections of every component (read-only); exit 3 on conflicts or offline roots",
    )
    .option("--json", "print exactly one JSON object")
    .action(async (_o, cmd: Command) =>
      run(await discoverCommand(globals(cmd) as GlobalOptions & { json?: boolean })),
    );
  program
    .command("stats")
    .description("collections, files, bytes and skew per component and root, as bars (read-only)")
    .option("--json", "machine-readable output")
    .action(async (_o, cmd: Command) =>
      run(await statsCommand(globals(cmd) as GlobalOptions & { json?: boolean })),
    );
  program
    .command("assign")
    .description("place a collection's component (or show where it lives)")
    .argument("<collectionId>", "collection id")
    .requiredOption("--component <component>", "wal, viper, lsm, index or metadata")
    .option("--json", "machine-readable output")
    .action(async (id: string, _o, cmd: Command) =>
      run(await assignCommand(id, globals(cmd) as GlobalOptions & { component: string; json?: boolean })),
    );
  const config = program.command("config").description("configuration commands");
  config
    .command("check")
    .description("validate the configuration without starting or touching any root")
    .action(async (_o, cmd: Command) => run(await configCheck(globals(cmd))));
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  const verbose = argv.includes("--verbose") || argv.includes("-v");
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.ok : EXIT.config;
    }
    const line =
      err instanceof ConfigError
        ? err.message
        : err instanceof UsageError
          ? `usage error: ${err.message}`
          : err instanceof ProximaError
            ? err.message
            : `${(err as Error)?.name ?? "Error"}: ${(err as Error)?.message ?? String(err)}`;
    process.stderr.write(`proximadb: ${line}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof ConfigError || err instanceof UsageError ? EXIT.config : EXIT.failure;
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && fileURLToPath(import.meta.url) === (await realpath(process.argv[1]));
if (invokedDirectly) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}

async function realpath(p: string): Promise<string> {
  const { realpath: rp } = await import("node:fs/promises");
  return rp(p).catch(() => p);
}
