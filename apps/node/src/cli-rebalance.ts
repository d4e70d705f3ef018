import type { RebalancePlan } from "@proximadb/core";
import { type Command, InvalidArgumentError as CommanderArgumentError, Option } from "commander";
import { EXIT, type GlobalOptions, loadConfig } from "./cli-common.js";
import type { UnseenRoot } from "./rebalance-input.js";

// `proximadb rebalance plan`: reads every root as `stats` does (read-only) and prints the planner's moves.

interface PlanOptions extends GlobalOptions {
  json?: boolean;
  threshold: number;
  by: "bytes" | "count";
  maxMisplaced: number;
}

function ratioArg(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max || (min > 0 && n === 0))
      throw new CommanderArgumentError(
        `${name} must be a number ${min === 0 ? ">= 0" : "> 0"} and <= ${max}`,
      );
    return n;
  };
}

/**
 * Reads every configured root (read-only, as `stats` does) and plans; `rebalance plan` prints the result and
 * `rebalance execute` without `--plan` runs it.
 */
export async function computePlan(
  opts: GlobalOptions & Partial<Pick<PlanOptions, "threshold" | "by" | "maxMisplaced">>,
): Promise<{ plan: RebalancePlan; unseen: readonly UnseenRoot[] }> {
  const config = await loadConfig(opts);
  const [{ withInspection }, { rebalanceInputFrom }, { planRebalance }, { isCordonedOnDisk }] =
    await Promise.all([
      import("./cli-roots.js"),
      import("./rebalance-input.js"),
      import("@proximadb/core"),
      import("./moves/cordon.js"),
    ]);
  const { components, unseen } = await withInspection(config, async ({ reports, roots }) => {
    // Drained roots (their cordon record) take nothing, as on the node.
    const cordoned = new Set<string>();
    await Promise.all(
      [...roots.byUrl].map(async ([url, fs]) => {
        if (await isCordonedOnDisk(fs).catch(() => false)) cordoned.add(url);
      }),
    );
    return rebalanceInputFrom(config, reports, cordoned);
  });
  const plan = planRebalance({
    components,
    threshold: opts.threshold ?? 0.1,
    by: opts.by ?? "bytes",
    maxMisplacedRatio: opts.maxMisplaced ?? 0.05,
    fullRatio: config.placement.fullRatio,
  });
  return { plan, unseen };
}

async function planCommand(opts: PlanOptions): Promise<number> {
  const { plan, unseen } = await computePlan(opts);
  if (opts.json) {
    const { moves, before, after, batches, bytesToMove } = plan;
    process.stdout.write(
      `${JSON.stringify({ moves, before, after, batches, bytesToMove, offline: unseen })}\n`,
    );
  } else process.stdout.write(render(plan, unseen));
  return EXIT.ok;
}

function render(plan: RebalancePlan, unseen: readonly UnseenRoot[]): string {
  const lines: string[] = [];
  for (const [component, c] of Object.entries(plan.before.components)) {
    const after = plan.after.components[component];
    lines.push(
      `${component}: ${c.balanced ? "balanced" : "unbalanced"} → ${after?.balanced ? "balanced" : "unbalanced"}`,
    );
    for (const [i, r] of c.roots.entries()) {
      const a = after?.roots[i];
      const dev = (d: number | undefined) =>
        d === undefined ? "-" : `${d >= 0 ? "+" : ""}${(d * 100).toFixed(1)}%`;
      lines.push(
        `  ${r.url}  ${r.state}  ${r.collections} → ${a?.collections} collections, ${r.bytes} → ${a?.bytes} bytes, ${dev(r.deviation)} → ${dev(a?.deviation)}`,
      );
    }
  }
  for (const u of unseen)
    lines.push(`offline: ${u.component} ${u.url} (${u.status}): left alone, its collections are not counted`);
  lines.push(
    `${plan.moves.length} moves, ${plan.bytesToMove} bytes, ${plan.batches} batches (by ${plan.before.by}, threshold ${plan.before.threshold})`,
  );
  for (const m of plan.moves)
    lines.push(`  [${m.batch}] ${m.component} ${m.collection}: ${m.from} → ${m.to} (${m.bytes} bytes)`);
  return `${lines.join("\n")}\n`;
}

/**
 * Adds the `rebalance` command group with `plan`; returns the group so other commands (`execute`) can
 * join it.
 */
export function addRebalanceCommands(
  program: Command,
  run: (code: number) => void,
  globals: (cmd: Command) => GlobalOptions,
): Command {
  const rebalance = program.command("rebalance").description("plan (and run) moves that even out the roots");
  rebalance
    .command("plan")
    .description(
      "print the moves that bring every active root within the threshold of its weighted target (read-only)",
    )
    .option("--json", "print exactly one JSON object {moves, before, after, …}")
    .addOption(
      new Option("--threshold <ratio>", "allowed deviation from a root's weighted target")
        .argParser(ratioArg("--threshold", 0, 10))
        .default(0.1),
    )
    .addOption(
      new Option("--by <unit>", "balance bytes or collection count")
        .choices(["bytes", "count"])
        .default("bytes"),
    )
    .addOption(
      new Option("--max-misplaced <ratio>", "bytes in motion per batch, as a fraction of all bytes")
        .argParser(ratioArg("--max-misplaced", Number.MIN_VALUE, 1))
        .default(0.05),
    )
    .action(async (_o, cmd: Command) => run(await planCommand(globals(cmd) as PlanOptions)));
  return rebalance;
}
