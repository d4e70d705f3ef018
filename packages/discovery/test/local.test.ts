import { afterAll } from "vitest";
import { localBackend } from "./support/backends.js";
import { describeDiscovery } from "./support/suite.js";

const backend = localBackend();
afterAll(() => backend.cleanup?.());
describeDiscovery(backend);
