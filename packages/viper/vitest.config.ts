import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "viper",
    include: ["test/**/*.test.ts"],
    // s3rver and the crash test's child processes are slower than an in-memory run.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
