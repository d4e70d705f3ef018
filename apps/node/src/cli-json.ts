import type { Command } from "commander";
import type { GlobalOptions } from "./cli-common.js";

/** The options of a command that can answer in JSON. */
export type JsonOptions = GlobalOptions & { json?: boolean };

/**
 * Adds a command with a `--json` switch to `parent`: `action` gets the global options with `json`, and
 * its exit code goes to `run`. Returns the command (for sub-commands).
 */
export function addJsonCommand(
  parent: Command,
  spec: { readonly name: string; readonly description: string; readonly json: string },
  run: (code: number) => void,
  action: (options: JsonOptions) => Promise<number>,
): Command {
  return parent
    .command(spec.name)
    .description(spec.description)
    .option("--json", spec.json)
    .action(async (_o, cmd: Command) => run(await action(cmd.optsWithGlobals() as JsonOptions)));
}
