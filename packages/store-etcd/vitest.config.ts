import { packageProject } from "../../vitest.shared.ts";

// One real etcd server for the suite (tests that kill etcd start their own).
export default packageProject("store-etcd", { globalSetup: "test/global-setup.ts", testTimeout: 60_000 });
