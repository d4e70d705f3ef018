import { packageProject } from "../../vitest.shared.ts";

// Emulator files start their own server (s3rver, Azurite, GCS server) and write 1,000+ objects.
export default packageProject("discovery", { testTimeout: 60_000 });
