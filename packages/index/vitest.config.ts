import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "index",
    include: ["test/**/*.test.ts"],
    // 20,000-vector builds, s3rver and the crash test's child processes take longer than the default.
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
