import { createRequire } from "node:module";
import { basename } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ChildProcessError } from "./errors.js";

/** How to start a child process under test. Build one with {@link tsChild} or {@link nodeChild}, or by hand. */
export interface ChildCommand {
  /** The executable. */
  readonly command: string;
  readonly args: readonly string[];
  /** Working directory. Default: the parent's. */
  readonly cwd?: string;
  /**
   * Environment, laid over the parent's (`undefined` removes a variable). `NODE_OPTIONS` is not inherited
   * (a test runner's flags would change the child); set it here to pass one.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Name used in failure messages. Default: the script's file name. */
  readonly label?: string;
}

/** Options of {@link tsChild} and {@link nodeChild}. */
export interface NodeChildOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly label?: string;
  /** Extra flags for `node` before the script (e.g. `--max-old-space-size=64`). */
  readonly nodeArgs?: readonly string[];
}

/** Options of {@link tsChild}. */
export interface TsChildOptions extends NodeChildOptions {
  /**
   * Export conditions for the child's imports. Default `["@proximadb/source"]`: workspace packages load
   * from their `src`, so a child needs no build.
   */
  readonly conditions?: readonly string[];
}

const toPath = (file: string | URL): string =>
  file instanceof URL || file.startsWith("file:") ? fileURLToPath(file) : file;

/** The URL of tsx's ESM loader as seen from `from` (a file), or undefined when tsx is not installed there. */
function tsxLoaderFrom(from: string): string | undefined {
  try {
    return pathToFileURL(createRequire(from).resolve("tsx")).href;
  } catch {
    return undefined;
  }
}

/**
 * A TypeScript child run by Node with the `tsx` loader:
 * `node --conditions=@proximadb/source --import <tsx> <entry> ...args`. `tsx` is resolved from the entry's
 * folder (then from the working directory), so the child works whatever its `cwd`.
 *
 * @example
 * const run = await runChild(tsChild(new URL("./fixtures/node.ts", import.meta.url), [endpoint, "3"]));
 */
export function tsChild(
  entry: string | URL,
  args: readonly string[] = [],
  options: TsChildOptions = {},
): ChildCommand {
  const script = toPath(entry);
  const loader = tsxLoaderFrom(script) ?? tsxLoaderFrom(`${process.cwd()}/noop.js`);
  const label = options.label ?? basename(script);
  if (loader === undefined)
    throw new ChildProcessError(
      "SpawnFailed",
      `cannot run ${script}: the tsx package is not installed where it can be resolved from the script (add tsx to devDependencies)`,
      { label },
    );
  const conditions = (options.conditions ?? ["@proximadb/source"]).map((c) => `--conditions=${c}`);
  return nodeCommand(script, [...conditions, "--import", loader], args, options);
}

/**
 * A command of this Node binary: `node ...loaderFlags ...nodeArgs <script> ...args`, labelled by `options.label`
 * (default: the script's file name), with the `cwd` and `env` of `options` when given.
 */
function nodeCommand(
  script: string,
  loaderFlags: readonly string[],
  args: readonly string[],
  options: NodeChildOptions,
): ChildCommand {
  return {
    command: process.execPath,
    args: [...loaderFlags, ...(options.nodeArgs ?? []), script, ...args],
    label: options.label ?? basename(script),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  };
}

/**
 * A JavaScript child run by this Node binary: a built CLI (`apps/node/dist/cli.js`), a bundle, a `.mjs`
 * fixture. `node ...nodeArgs <script> ...args`.
 *
 * @example
 * const node = startChild(nodeChild(CLI, ["serve", "--port", "0"], { cwd }));
 */
export function nodeChild(
  script: string | URL,
  args: readonly string[] = [],
  options: NodeChildOptions = {},
): ChildCommand {
  return nodeCommand(toPath(script), [], args, options);
}

/** The environment a child gets: the parent's without `NODE_OPTIONS`, then `env`. */
export function childEnv(env: ChildCommand["env"]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  delete out.NODE_OPTIONS;
  for (const [k, v] of Object.entries(env ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** The label of a command: its own, else the file name of the executable. */
export function labelOf(command: ChildCommand): string {
  return command.label ?? basename(command.command);
}
