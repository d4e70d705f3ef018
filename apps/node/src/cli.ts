#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ComponentType, InvalidComponentError, ProximaError, parseComponentType } from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryReport } from "@proximadb/discovery";
import { Command, CommanderError, InvalidArgumentError as CommanderArgumentError, Option } from "commander";
export { EXIT } from "./cli-common.js";
import { EXIT, type GlobalOptions, discoveryProgress, loadConfig } from "./cli-common.js";
import { addMoveCommands } from "./cli-move.js";
import { addJsonCommand } from "./cli-json.js";
import { addOrphanCommands } from "./cli-orphans.js";
import { addRebalanceExecute } from "./cli-rebalance-execute.js";
import { addRebalanceCommands } from "./cli-rebalance.js";
import { type Inspection, addRootCommands } from "./cli-roots.js";
import { ConfigError, type NodeConfig } from "./config.js";
import type { ServeOptions } from "./serve.js";
import type { OpenRoots } from "./startup.js";

// Engines, the HTTP server and the discovery code are imported by the commands that use them: `--help`,
// `--version` and configuration errors answer without loading Parquet, Fastify or cloud SDKs.
const startup = () => import("./startup.js");

/** A usage error (bad flag value): exit 2. */
class UsageError extends Error {}

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

/**
 * Read-only look at every root: the deployment assessment and every component's discovery with its
 * statuses (nothing is created, not even a missing root; no marker is written).
 */
async function readOnlyDiscovery(config: NodeConfig): Promise<Omit<Inspection, "roots">> {
  const { withInspection } = await import("./cli-roots.js");
  return withInspection(config, async ({ assessment, reports }) => ({ assessment, reports }));
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CommanderArgumentError("must be an integer in 0..65535");
  return n;
}

async function discoverCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const { reports, assessment } = await readOnlyDiscovery(config);
  const { discoverJson, hasProblems } = await import("./report.js");
  const out = discoverJson(reports, assessment);
  if (opts.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    process.stdout.write(`deployment ${out.deployment?.id ?? "(not initialised)"}\n`);
    for (const p of out.deployment?.problems ?? []) process.stdout.write(`  problem: ${p.message}\n`);
    for (const w of out.deployment?.warnings ?? []) process.stdout.write(`  warning: ${w}\n`);
    for (const [component, c] of Object.entries(out.components)) {
      process.stdout.write(`${component}\n`);
      for (const r of c.roots)
        process.stdout.write(
          `  [${r.index}] ${r.url}  ${r.status}  ${r.collections} collections, ${r.files} files, ${r.bytes} bytes${r.detail ? `  (${r.detail})` : ""}\n`,
        );
      for (const u of c.unconfigured)
        process.stdout.write(`  ${u.url}  unconfigured (known to the deployment, not configured)\n`);
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
  const stats = statsFromReports((await readOnlyDiscovery(config)).reports);
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
  const { openAssignmentStore, createAssignmentService, openRoots, discoverComponents } = await startup();
  const { recordInto } = await import("@proximadb/discovery");
  const { applyToReports, prepareNodeDeployment } = await import("./deployment.js");
  const store = await openAssignmentStore(config);
  const service = createAssignmentService(config, store);
  const roots = await openRoots(config);
  try {
    await service.load();
    const { assessment } = await prepareNodeDeployment(roots, config, { readOnly: true });
    const progress = await discoveryProgress(config);
    // As `serve` discovers: names only, unless a component's strategy may compare bytes.
    const { discoveryDetailFor } = await import("@proximadb/engine");
    const detail = (c: ComponentType) => discoveryDetailFor(service, c);
    const discovered = await discoverComponents(roots, progress.onEvent, detail).finally(() =>
      progress.stop(),
    );
    const reports = applyToReports(discovered, assessment);
    // `serve` would initialise (or join) these roots at its next start: place as it would.
    const joining = new Set(assessment.next.init ? assessment.roots.map((r) => r.url) : assessment.next.join);
    for (const report of Object.values(reports)) {
      await recordInto(service, report);
      for (const r of report.roots)
        if (r.status === "new" && joining.has(r.url)) service.setRootState(report.component, r.url, "active");
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
  reports: Partial<Record<ComponentType, DiscoveryReport<DiscoveryDetail>>>,
  collection: string,
  component: ComponentType,
): Promise<string | undefined> {
  const found = reports.metadata?.collections[collection];
  const fs = found ? roots.byUrl.get(found.url) : undefined;
  if (!fs) return undefined;
  try {
    const { readDefinitionAt } = await import("./catalog.js");
    const def = await readDefinitionAt(fs, collection);
    return (def?.placements as Record<string, { url: string } | undefined> | undefined)?.[component]?.url;
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
    .addOption(
      new Option(
        "--log-format <format>",
        "log lines as JSON or readable text (default: [log] format, auto = pretty on a terminal)",
      ).choices(["json", "pretty"]),
    )
    .action(async (_o, cmd: Command) => {
      const { serve } = await import("./serve.js");
      await serve(globals(cmd) as ServeOptions);
      run(EXIT.ok);
    });
  addJsonCommand(
    program,
    {
      name: "discover",
      description:
        "report the collections of every component (read-only); exit 3 on conflicts or offline roots",
      json: "print exactly one JSON object",
    },
    run,
    discoverCommand,
  );
  addJsonCommand(
    program,
    {
      name: "stats",
      description: "collections, files, bytes and skew per component and root, as bars (read-only)",
      json: "machine-readable output",
    },
    run,
    statsCommand,
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
  addRootCommands(program, run, globals);
  addOrphanCommands(program, run, globals);
  addMoveCommands(program, run, globals);
  addRebalanceCommands(program, run, globals);
  addRebalanceExecute(program, run, globals);
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
    // A deployment the node must not serve (a known root not configured, …) is the operator's to fix.
    const operator = err instanceof ProximaError && err.code === "DEPLOYMENT";
    return err instanceof ConfigError || err instanceof UsageError || operator ? EXIT.config : EXIT.failure;
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
