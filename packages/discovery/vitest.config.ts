import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@proximadb/source"] },
  ssr: { resolve: { conditions: ["@proximadb/source"] } },
  test: {
    name: "discovery",
    include: ["test/**/*.test.ts"],
    // Emulator files start their own server (s3rver, Azurite, GCS server) and write 1,000+ objects.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
