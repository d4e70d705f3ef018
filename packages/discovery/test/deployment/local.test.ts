import { describeDeploymentScenarios } from "./scenarios.js";
import { localDisks } from "./support.js";

describeDeploymentScenarios(localDisks());
