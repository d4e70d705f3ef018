import { describeOnBackends } from "@proximadb/testing-backends";
import { describeDiscovery } from "./support/suite.js";

describeOnBackends("discovery", ["memory"], (b) => describeDiscovery(b));
