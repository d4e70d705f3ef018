import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { EXIT, type GlobalOptions } from "./cli-common.js";
import { MoveCommandError, call, nodeUrl } from "./cli-move.js";
import type { MoveView } from "./moves/manager.js";

// `proximadb rebalance execute --plan <file>`: runs a rebalance plan (the `{"moves":[…]}` object that
// `rebalance plan --json` prints) through the running node's mover, batch after batch. The plan and the
// collections' placements are the whole state: a move whose component is already at `to` is done, one
// still at `from` is (re)started, so running the command again — or the node restarting under it —
// resumes where it stopped.

/** One planned move (the planner's `PlannedMove`). */
export interface PlannedMove {
  readonly collection: string;
  readonly component: string;
  readonly from: string;
  readonly to: string;
  readonly bytes?: number;
  /** Batches run in order; a batch starts when the previous one is done. Default 0. */
  readonly batch?: number;
}

/** What became of one planned move. */
export interface ExecutedMove extends PlannedMove {
  /** `moved` now, `already` there before, `stale` (the collection is in a third root or gone), `failed`. */
  readonly outcome: "moved" | "already" | "stale" | "failed";
  readonly error?: string;
}

interface ExecuteOptions extends GlobalOptions {
  plan?: string;
  node?: string;
  json?: boolean;
  /** How long to wait for the node when it is unreachable (restarting), in seconds. */
  waitNode?: number;
}

/** Reads and checks a plan. @throws MoveCommandError naming what is wrong */
export function parsePlan(text: string): PlannedMove[] {
  let v: { moves?: unknown };
  try {
    v = JSON.parse(text);
  } catch {
    throw new MoveCommandError("the plan is not JSON (expected the output of `rebalance plan --json`)");
  }
  if (!Array.isArray(v?.moves)) throw new MoveCommandError('the plan has no "moves" array');
  return v.moves.map((m: Partial<PlannedMove>, i: number) => {
    for (const f of ["collection", "component", "from", "to"] as const)
      if (typeof m?.[f] !== "string" || m[f] === "")
        throw new MoveCommandError(`moves[${i}].${f} must be a non-empty string`);
    if (m.batch !== undefined && !(Number.isInteger(m.batch) && m.batch >= 0))
      throw new MoveCommandError(`moves[${i}].batch must be a non-negative integer`);
    return m as PlannedMove;
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Brings one planned move to an end: started (or found running) and followed, or found done already. */
async function ensureMoved(base: string, m: PlannedMove, deadlineMs: number): Promise<ExecutedMove> {
  let started = false;
  let id: string | undefined;
  for (;;) {
    try {
      const def = await call(base, "GET", `/collections/${encodeURIComponent(m.collection)}`);
      const at = def?.placements?.[m.component]?.url as string | undefined;
      if (at === m.to) return { ...m, outcome: started ? "moved" : "already" };
      if (at !== m.from) return { ...m, outcome: "stale", error: `it is in ${at ?? "no root"}` };
      if (id === undefined) {
        const running = ((await call(base, "GET", "/moves")).moves as MoveView[]).find(
          (v) =>
            v.collection === m.collection &&
            v.component === m.component &&
            !["done", "failed"].includes(v.state),
        );
        id =
          running?.id ??
          (
            await call(base, "POST", `/collections/${encodeURIComponent(m.collection)}/moves`, {
              component: m.component,
              to: m.to,
            })
          ).move.id;
        started = true;
      }
      const v = (await call(base, "GET", `/moves/${id}`)).move as MoveView;
      if (v.state === "failed") return { ...m, outcome: "failed", error: v.error ?? "failed" };
      if (v.state !== "done") await sleep(200);
    } catch (err) {
      // The node restarted (its move history is gone), is unreachable for now, or the collection is
      // unavailable for a moment (503: a move switching over): look again.
      if (!(err instanceof MoveCommandError)) throw err;
      if (Date.now() > deadlineMs) return { ...m, outcome: "failed", error: err.message };
      if (err.status === 404 && id !== undefined) id = undefined;
      else if (err.status !== undefined && err.status !== 503)
        return { ...m, outcome: "failed", error: err.message };
      await sleep(500);
    }
  }
}

async function executeCommand(opts: ExecuteOptions): Promise<number> {
  // Without --plan, plan now from the roots as they are (the defaults of `rebalance plan`).
  const text =
    opts.plan === undefined
      ? JSON.stringify((await (await import("./cli-rebalance.js")).computePlan(opts)).plan)
      : opts.plan === "-"
        ? await readStdin()
        : await readFile(opts.plan, "utf8");
  const plan = parsePlan(text);
  const base = await nodeUrl(opts);
  const waitMs = (opts.waitNode ?? 120) * 1000;
  const batches = [...new Set(plan.map((m) => m.batch ?? 0))].sort((a, b) => a - b);
  const results: ExecutedMove[] = [];
  for (const b of batches) {
    const batch = plan.filter((m) => (m.batch ?? 0) === b);
    const done = await Promise.all(batch.map((m) => ensureMoved(base, m, Date.now() + waitMs)));
    results.push(...done);
    if (!opts.json)
      for (const r of done)
        process.stdout.write(
          `batch ${b}: ${r.collection} ${r.component} ${r.from} -> ${r.to}: ${r.outcome}${r.error ? ` (${r.error})` : ""}\n`,
        );
    if (done.some((r) => r.outcome === "failed")) break;
  }
  const failed = results.filter((r) => r.outcome === "failed").length;
  if (opts.json) process.stdout.write(`${JSON.stringify({ moves: results, failed })}\n`);
  else
    process.stdout.write(
      `rebalance: ${results.filter((r) => r.outcome === "moved").length} moved, ${results.filter((r) => r.outcome === "already").length} already in place, ${failed} failed, ${plan.length - results.length} not started\n`,
    );
  return failed === 0 && results.length === plan.length ? EXIT.ok : EXIT.failure;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Adds `rebalance execute` (to the `rebalance` command group, made here when absent). */
export function addRebalanceExecute(
  program: Command,
  run: (code: number) => void,
  globals: (cmd: Command) => GlobalOptions,
): void {
  const group =
    program.commands.find((c) => c.name() === "rebalance") ??
    program.command("rebalance").description("rebalance the roots of each component");
  group
    .command("execute")
    .description("run a rebalance plan through the running node's mover, batch by batch; re-run to resume")
    .option(
      "--plan <file>",
      "the plan (`rebalance plan --json` output); - reads stdin; default: plan now with the defaults",
    )
    .option("--node <url>", "the running node (default: the configuration's server address)")
    .option("--wait-node <seconds>", "how long to wait for an unreachable (restarting) node", Number)
    .option("--json", "print exactly one JSON object")
    .action(async (_o, cmd: Command) => {
      try {
        run(await executeCommand(globals(cmd) as ExecuteOptions));
      } catch (err) {
        if (!(err instanceof MoveCommandError)) throw err;
        process.stderr.write(`proximadb: ${err.message}\n`);
        run(EXIT.failure);
      }
    });
}
