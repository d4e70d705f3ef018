import { packageProject } from "../../vitest.shared.ts";

// Starts the GCS JSON-API test server once for the conformance suite (endpoint via inject()).
export default packageProject("fs-gcs", { globalSetup: "test/global-setup.ts", testTimeout: 60_000 });
