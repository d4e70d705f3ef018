import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "fs-s3",
    include: ["test/**/*.test.ts"],
    // One s3rver for the whole project; each test file works under its own random prefix.
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
