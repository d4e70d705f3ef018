import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "node",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
