import { describeDeploymentScenarios } from "./scenarios.js";
import { memoryDisks } from "./support.js";

describeDeploymentScenarios(memoryDisks);
