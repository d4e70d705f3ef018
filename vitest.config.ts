import { defineConfig } from "vitest/config";

// One vitest project per package; each package's own vitest.config.ts says how it runs
// (emulator globalSetup, timeouts). `pnpm test` runs them all.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "apps/*/vitest.config.ts"],
  },
});
