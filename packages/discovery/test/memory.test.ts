import { memoryBackend } from "./support/backends.js";
import { describeDiscovery } from "./support/suite.js";

describeDiscovery(memoryBackend);
