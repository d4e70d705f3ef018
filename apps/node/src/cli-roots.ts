import type { ComponentType } from "@proximadb/core";
import type { DeploymentAssessment, DeploymentRootEntry, DiscoveryReport } from "@proximadb/discovery";
import type { Command } from "commander";
import { EXIT, type GlobalOptions, discoveryProgress, loadConfig } from "./cli-common.js";
import type { NodeConfig } from "./config.js";
import type { OpenRoots } from "./startup.js";

// Commands about the deployment's roots: `init`, `roots retire`. Heavy modules load only when one runs.

/** What one read-only look at every root found: the deployment and every component's discovery. */
export interface Inspection {
  readonly assessment: DeploymentAssessment;
  readonly reports: Partial<Record<ComponentType, DiscoveryReport>>;
  readonly roots: OpenRoots;
}

/**
 * Opens every root, assesses the deployment (read-only: no marker is written, no root created) and
 * discovers every component with the deployment's statuses folded in, then runs `fn` while the roots are
 * open.
 */
export async function withInspection<T>(config: NodeConfig, fn: (i: Inspection) => Promise<T>): Promise<T> {
  const [{ openRoots, discoverComponents }, { prepareNodeDeployment, applyToReports, assessedEvents }] =
    await Promise.all([import("./startup.js"), import("./deployment.js")]);
  const roots = await openRoots(config);
  try {
    const { assessment } = await prepareNodeDeployment(roots, config, { readOnly: true });
    const progress = await discoveryProgress(config);
    const events = assessedEvents(assessment, progress.onEvent);
    const discovered = await discoverComponents(roots, events).finally(() => progress.stop());
    return await fn({ assessment, reports: applyToReports(discovered, assessment), roots });
  } finally {
    await roots.close();
  }
}

async function initCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const [{ openRoots }, { configuredRoots }, { initDeployment }] = await Promise.all([
    import("./startup.js"),
    import("./deployment.js"),
    import("@proximadb/discovery"),
  ]);
  const roots = await openRoots(config);
  try {
    const id = config.deployment.id;
    const a = await initDeployment(configuredRoots(roots), id === undefined ? {} : { deployment: id });
    const list = a.roots.map((r) => ({ component: r.component, url: r.url, uuid: r.uuid, status: r.status }));
    if (opts.json) process.stdout.write(`${JSON.stringify({ deployment: a.deployment, roots: list })}\n`);
    else {
      process.stdout.write(`initialised deployment ${a.deployment}: ${list.length} roots\n`);
      for (const r of list) process.stdout.write(`  ${r.component} ${r.url}  ${r.uuid}\n`);
    }
    return EXIT.ok;
  } finally {
    await roots.close();
  }
}

/**
 * How many collections a deployment's root holds, looked at where the deployment recorded it (it may no
 * longer be configured); `undefined` when that cannot be told (gone, unreadable, another root there).
 */
async function countCollections(config: NodeConfig, roots: OpenRoots, entry: DeploymentRootEntry) {
  const [{ parseStorageUrl }, { discover, markerRootUuid, readNewestMarker }, { fileSystemOpener }] =
    await Promise.all([import("@proximadb/core"), import("@proximadb/discovery"), import("./storage.js")]);
  const configured = roots.byUrl.get(entry.url);
  let fs = configured;
  try {
    fs ??= (await fileSystemOpener(config))(parseStorageUrl(entry.url));
    if (!(await fs.probe()).exists) return undefined;
    const marker = await readNewestMarker(fs);
    if (!marker || markerRootUuid(marker) !== entry.uuid) return undefined;
    // Counting needs names only: no stat per file.
    const report = await discover({ component: entry.component, roots: [fs], detail: "names" });
    return report.roots[0]?.status === "online" ? Object.keys(report.collections).length : undefined;
  } catch {
    return undefined;
  } finally {
    if (fs && !configured) await fs.close().catch(() => undefined);
  }
}

async function retireCommand(url: string, opts: GlobalOptions & { force?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const [{ openRoots }, { configuredRoots }, { retireRoot }] = await Promise.all([
    import("./startup.js"),
    import("./deployment.js"),
    import("@proximadb/discovery"),
  ]);
  const roots = await openRoots(config);
  try {
    const id = config.deployment.id;
    const a = await retireRoot(configuredRoots(roots), url, {
      ...(id === undefined ? {} : { expectedDeployment: id }),
      ...(opts.force ? { force: true } : {}),
      collections: (entry) => countCollections(config, roots, entry),
    });
    const entry = a.entries.find((e) => e.url === url || e.uuid === url);
    const written = a.roots.filter((r) => r.status === "online").length;
    process.stdout.write(
      `retired ${entry?.url ?? url} (${entry?.component ?? "?"}, root ${entry?.uuid ?? "?"}) from deployment ${a.deployment}: recorded in ${written} markers\n`,
    );
    return EXIT.ok;
  } finally {
    await roots.close();
  }
}

/** Adds `init` and `roots retire <url>` to the program. */
export function addRootCommands(
  program: Command,
  run: (code: number) => void,
  globals: (cmd: Command) => GlobalOptions,
): void {
  program
    .command("init")
    .description(
      "initialise the deployment on roots that are all empty and unmarked (a first `serve` does it too); with [deployment] id set, only this does",
    )
    .option("--json", "machine-readable output")
    .action(async (_o, cmd: Command) =>
      run(await initCommand(globals(cmd) as GlobalOptions & { json?: boolean })),
    );
  const roots = program.command("roots").description("operate the deployment's roots");
  roots
    .command("retire")
    .description(
      "record in every marker that a root left the deployment for good (refused while it holds collections)",
    )
    .argument("<url>", "the root's URL (as the deployment recorded it) or UUID")
    .option("--force", "retire it even though it holds collections, or cannot be looked at")
    .action(async (url: string, _o, cmd: Command) =>
      run(await retireCommand(url, globals(cmd) as GlobalOptions & { force?: boolean })),
    );
}
