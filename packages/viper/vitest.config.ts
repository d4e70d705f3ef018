import { packageProject } from "../../vitest.shared.ts";

// s3rver and the crash test's child processes are slower than an in-memory run.
export default packageProject("viper", { testTimeout: 60_000 });
