import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "fs-azure",
    include: ["test/**/*.test.ts"],
    // One Azurite blob service (child process, free loopback port, in memory) for every test file.
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
