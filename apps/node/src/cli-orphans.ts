import type { Command } from "commander";
import { EXIT, type GlobalOptions, loadConfig } from "./cli-common.js";
import { addJsonCommand } from "./cli-json.js";

// `proximadb orphans`: collections with data but no readable definition. Listing is read-only; data is
// removed only when asked by name, and never from an offline root.

/** A refusal of `orphans remove` (exit 2, one line). */
class OrphanRefusal extends Error {}

async function listCommand(opts: GlobalOptions & { json?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const [{ withInspection }, { findOrphans, offlineRoots }] = await Promise.all([
    import("./cli-roots.js"),
    import("./orphans.js"),
  ]);
  return withInspection(config, async ({ reports, roots }) => {
    const orphans = await findOrphans(reports, (url) => roots.byUrl.get(url));
    const offline = offlineRoots(reports);
    if (opts.json) process.stdout.write(`${JSON.stringify({ orphans, offline })}\n`);
    else {
      if (orphans.length === 0) process.stdout.write("no orphans\n");
      for (const o of orphans) {
        process.stdout.write(`${o.collection}: ${o.reason}\n`);
        for (const l of o.locations)
          process.stdout.write(`  ${l.component} ${l.url}  ${l.files} files, ${l.bytes} bytes\n`);
      }
      for (const r of offline)
        process.stdout.write(`note: ${r.component} root ${r.url} is ${r.status}: it may hold more\n`);
    }
    return EXIT.ok;
  });
}

async function removeCommand(id: string, opts: GlobalOptions & { force?: boolean }): Promise<number> {
  const config = await loadConfig(opts);
  const [{ withInspection }, { findOrphans, offlineRoots, removeOrphan }] = await Promise.all([
    import("./cli-roots.js"),
    import("./orphans.js"),
  ]);
  return withInspection(config, async ({ reports, roots }) => {
    const orphan = (await findOrphans(reports, (url) => roots.byUrl.get(url))).find(
      (o) => o.collection === id,
    );
    if (!orphan)
      throw new OrphanRefusal(`${id} is not an orphan (it has a definition, or no data): nothing removed`);
    const offline = offlineRoots(reports);
    if (offline.length > 0 && !opts.force)
      throw new OrphanRefusal(
        `roots ${offline.map((r) => `${r.url} (${r.status})`).join(", ")} are offline and may hold more of ${id}, or its definition: bring them back, or remove with --force (offline roots are never written)`,
      );
    const removed = await removeOrphan(orphan, (url) => roots.byUrl.get(url));
    for (const r of removed) process.stdout.write(`removed ${id} from ${r.component} ${r.url}\n`);
    return EXIT.ok;
  });
}

/** Adds `orphans` and `orphans remove <id>` to the program. */
export function addOrphanCommands(
  program: Command,
  run: (code: number) => void,
  globals: (cmd: Command) => GlobalOptions,
): void {
  const orphans = addJsonCommand(
    program,
    {
      name: "orphans",
      description: "list collections with data but no readable definition (read-only)",
      json: "print exactly one JSON object",
    },
    run,
    listCommand,
  );
  orphans
    .command("remove")
    .description("delete one orphan's data from every online root (stop the node first, or restart it after)")
    .argument("<collectionId>", "the orphan to remove")
    .option("--force", "remove even while some roots are offline (they keep what they hold)")
    .action(async (id: string, _o, cmd: Command) => {
      try {
        run(await removeCommand(id, globals(cmd) as GlobalOptions & { force?: boolean }));
      } catch (err) {
        if (!(err instanceof OrphanRefusal)) throw err;
        process.stderr.write(`proximadb: ${err.message}\n`);
        run(EXIT.config);
      }
    });
}
