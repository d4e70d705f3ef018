import type { Command } from "commander";
import { InvalidArgumentError as CommanderArgumentError } from "commander";
import { EXIT, type GlobalOptions, loadConfig } from "./cli-common.js";
import type { DrainView } from "./moves/drain.js";
import type { MoveView } from "./moves/manager.js";

// `proximadb move`, `drain` and `uncordon`: clients of a running node's move API (`--node`, default the
// configuration's server address). They start the work, then follow it to the end with a progress bar
// on a terminal; the node does the moving (and finishes or rolls back a move after a crash).

interface ClientOptions extends GlobalOptions {
  node?: string;
  json?: boolean;
}

/** A refusal of the node or a failed move (exit 1, one line). */
/** A failed call of the move commands: `status` is the node's HTTP status, absent when it was not reached. */
export class MoveCommandError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export async function nodeUrl(opts: ClientOptions): Promise<string> {
  if (opts.node) return opts.node.replace(/\/+$/, "");
  const { server } = await loadConfig(opts);
  const host = server.host === "0.0.0.0" || server.host === "::" ? "127.0.0.1" : server.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${server.port}`;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON the commands read field by field
export async function call(base: string, method: string, path: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
  } catch (err) {
    throw new MoveCommandError(`cannot reach the node at ${base}: ${(err as Error).message}`);
  }
  // biome-ignore lint/suspicious/noExplicitAny: an answer of the node (JSON)
  const json: any = await res.json().catch(() => undefined);
  if (res.status >= 400)
    throw new MoveCommandError(
      `${method} ${path}: ${res.status} ${json?.error?.message ?? res.statusText}`,
      res.status,
    );
  return json;
}

const FINAL = new Set(["done", "failed"]);

/** Polls the moves until each is done or failed, with one progress bar over all of them on a terminal. */
async function follow(base: string, ids: readonly string[], label: string): Promise<MoveView[]> {
  const bar = process.stderr.isTTY ? await progressBar(label) : undefined;
  try {
    for (;;) {
      const views: MoveView[] = [];
      for (const id of ids) views.push((await call(base, "GET", `/moves/${encodeURIComponent(id)}`)).move);
      const total = views.reduce((n, v) => n + v.totalBytes, 0);
      const done = views.reduce((n, v) => n + Math.min(v.bytesDone, v.totalBytes || v.bytesDone), 0);
      const finished = views.filter((v) => FINAL.has(v.state)).length;
      bar?.update(total, done, { moves: `${finished}/${views.length}`, state: views[0]?.state ?? "" });
      if (finished === views.length) return views;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    bar?.stop();
  }
}

async function progressBar(label: string) {
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} bytes | moves {moves} | {state}`,
      stream: process.stderr,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { moves: "0/0", state: "queued" });
  return {
    update: (total: number, value: number, payload: object) => {
      bar.setTotal(Math.max(1, total));
      bar.update(value, payload);
    },
    stop: () => bar.stop(),
  };
}

function line(v: MoveView): string {
  const what = `${v.collection} ${v.component} ${v.from} -> ${v.to}`;
  return v.state === "done"
    ? `moved ${what}: ${v.totalBytes} bytes`
    : `move ${v.id} of ${what} ${v.state}: ${v.error ?? ""}`;
}

async function moveCommand(
  collection: string,
  opts: ClientOptions & { component: string; to: string; maxBytesPerSecond?: number; wait?: boolean },
): Promise<number> {
  const base = await nodeUrl(opts);
  const body = {
    component: opts.component,
    to: opts.to,
    ...(opts.maxBytesPerSecond === undefined ? {} : { maxBytesPerSecond: opts.maxBytesPerSecond }),
  };
  const { move } = await call(base, "POST", `/collections/${encodeURIComponent(collection)}/moves`, body);
  if (opts.wait === false) {
    process.stdout.write(opts.json ? `${JSON.stringify({ move })}\n` : `move ${move.id} started\n`);
    return EXIT.ok;
  }
  const [final] = (await follow(base, [move.id], `move ${collection}`)) as [MoveView];
  process.stdout.write(opts.json ? `${JSON.stringify({ move: final })}\n` : `${line(final)}\n`);
  return final.state === "done" ? EXIT.ok : EXIT.failure;
}

async function drainCommand(url: string, opts: ClientOptions): Promise<number> {
  const base = await nodeUrl(opts);
  const { drain } = (await call(base, "POST", "/roots/drain", { url })) as { drain: DrainView };
  const finals = await follow(
    base,
    drain.moves.map((m) => m.id),
    `drain ${drain.url}`,
  );
  const failed = finals.filter((v) => v.state !== "done");
  const left = failed.length + drain.skipped.length;
  if (opts.json) process.stdout.write(`${JSON.stringify({ drain: { ...drain, moves: finals }, left })}\n`);
  else {
    for (const v of finals) process.stdout.write(`${line(v)}\n`);
    for (const s of drain.skipped) process.stdout.write(`kept ${s.collection} ${s.component}: ${s.reason}\n`);
    process.stdout.write(`drained ${drain.url}: ${finals.length - failed.length} moved, ${left} left\n`);
  }
  return left === 0 ? EXIT.ok : EXIT.failure;
}

async function uncordonCommand(url: string, opts: ClientOptions): Promise<number> {
  const base = await nodeUrl(opts);
  const { root } = await call(base, "POST", "/roots/uncordon", { url });
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ root })}\n`
      : `${root.url}: ${root.state}${root.state === "cordoned" ? " (the configuration cordons it)" : ""}\n`,
  );
  return EXIT.ok;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 0)) throw new CommanderArgumentError("must be a non-negative number");
  return n;
}

/** Adds `move`, `drain` and `uncordon` to the program. */
export function addMoveCommands(
  program: Command,
  run: (code: number) => void,
  globals: (cmd: Command) => GlobalOptions,
): void {
  const wrap = async (work: () => Promise<number>) => {
    try {
      run(await work());
    } catch (err) {
      if (!(err instanceof MoveCommandError)) throw err;
      process.stderr.write(`proximadb: ${err.message}\n`);
      run(EXIT.failure);
    }
  };
  program
    .command("move")
    .description("move a collection's component to another root of that component, online (running node)")
    .argument("<collection>", "collection id")
    .requiredOption("--component <component>", "wal, the collection's engine (viper, lsm), metadata or index")
    .requiredOption("--to <url>", "destination root (one of the component's configured roots)")
    .option("--node <url>", "the running node (default: the configuration's server address)")
    .option("--max-bytes-per-second <n>", "bandwidth cap of this move (default unlimited)", parseRate)
    .option("--no-wait", "start the move and return")
    .option("--json", "print exactly one JSON object")
    .action(async (collection: string, _o, cmd: Command) =>
      wrap(() => moveCommand(collection, globals(cmd) as Parameters<typeof moveCommand>[1])),
    );
  program
    .command("drain")
    .description(
      "cordon a root and move every collection off it to where the strategy places it (running node)",
    )
    .argument("<url>", "the root to empty")
    .option("--node <url>", "the running node (default: the configuration's server address)")
    .option("--json", "print exactly one JSON object")
    .action(async (url: string, _o, cmd: Command) =>
      wrap(() => drainCommand(url, globals(cmd) as ClientOptions)),
    );
  program
    .command("uncordon")
    .description("let a drained (cordoned) root take new collections again (running node)")
    .argument("<url>", "the root")
    .option("--node <url>", "the running node (default: the configuration's server address)")
    .option("--json", "print exactly one JSON object")
    .action(async (url: string, _o, cmd: Command) =>
      wrap(() => uncordonCommand(url, globals(cmd) as ClientOptions)),
    );
}
