import { defineConfig } from "vitest/config";
import { sourceResolve } from "../../vitest.shared.ts";

/**
 * The kill -9 soak (`pnpm soak`): `test/kill-soak.test.ts` alone, at 100 trials (or
 * `PROXIMADB_KILL_TRIALS`). `pnpm test` runs the same file at a few trials.
 */
export default defineConfig({
  resolve: sourceResolve,
  ssr: { resolve: sourceResolve },
  test: {
    name: "node-soak",
    root: import.meta.dirname,
    include: ["test/kill-soak.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    env: { PROXIMADB_KILL_TRIALS: process.env.PROXIMADB_KILL_TRIALS ?? "100" },
    testTimeout: 60 * 60_000,
    hookTimeout: 60_000,
  },
});
