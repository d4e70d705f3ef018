import { packageProject } from "../../vitest.shared.ts";

// One s3rver for the whole project; each test file works under its own random prefix.
export default packageProject("fs-s3", { globalSetup: "test/support/global-setup.ts", testTimeout: 60_000 });
