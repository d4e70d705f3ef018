import { packageProject } from "../../vitest.shared.ts";

export default packageProject("testing-backends", { testTimeout: 60_000, hookTimeout: 120_000 });
