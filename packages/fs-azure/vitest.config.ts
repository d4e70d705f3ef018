import { packageProject } from "../../vitest.shared.ts";

// One Azurite blob service (child process, free loopback port, in memory) for every test file.
export default packageProject("fs-azure", { globalSetup: "test/global-setup.ts", testTimeout: 60_000 });
