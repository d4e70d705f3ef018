import { packageProject } from "../../vitest.shared.ts";

// 20,000-vector builds, s3rver and the crash test's child processes take longer than the default.
export default packageProject("index", { testTimeout: 300_000, hookTimeout: 120_000 });
