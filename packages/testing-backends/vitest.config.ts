import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "testing-backends",
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
