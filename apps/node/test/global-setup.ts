import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const app = join(dirname(fileURLToPath(import.meta.url)), "..");

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The tests spawn the real binary: build it when dist is missing or older than src. `tsc -b` rewrites only
 * the outputs that changed, so the newest file in dist (not cli.js) tells when it last built.
 */
export default function setup(): void {
  const cli = join(app, "dist", "cli.js");
  if (existsSync(cli) && newestSource(join(app, "dist")) >= newestSource(join(app, "src"))) return;
  try {
    execFileSync("npx", ["tsc", "-b"], { cwd: app, stdio: "inherit" });
  } catch {
    throw new Error(
      `could not build ${cli}: run "pnpm build" (or "npx tsc -b" in apps/node) and read its errors`,
    );
  }
}
