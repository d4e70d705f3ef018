#!/usr/bin/env node
// Runs every `bench/*.bench.ts` of the package in the current folder, one after another, with tsx.
// Usage (from a package): node ../../bench/run.mjs [filter]
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = join(process.cwd(), "bench");
const filter = process.argv[2];
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith(".bench.ts") && (!filter || f.includes(filter)))
      .sort()
  : [];
if (files.length === 0) {
  console.log(`no benchmarks in ${dir}`);
  process.exit(0);
}
for (const f of files) {
  console.log(`\n=== ${f}`);
  const r = spawnSync(
    process.execPath,
    ["--conditions=@proximadb/source", "--import", "tsx", "--expose-gc", join(dir, f)],
    { stdio: "inherit" },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}
