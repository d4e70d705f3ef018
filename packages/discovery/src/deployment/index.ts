export { assessDeployment } from "./assess.js";
export { DeploymentError, type DeploymentErrorKind } from "./errors.js";
export { isMarkerKey, markerVersionKey, markerVersionOf } from "./keys.js";
export {
  assessRoots,
  type DeploymentOptions,
  initDeployment,
  joinRoots,
  retireRoot,
  rewriteMarkers,
} from "./operations.js";
export {
  applyAssessment,
  assertServable,
  type PreparedDeployment,
  type PreparedStep,
  prepareDeployment,
  writableRoots,
} from "./prepare.js";
export { commitMarker, readNewestMarker, readRootMarkers } from "./store.js";
export type {
  AssessedRoot,
  AssessedStatus,
  AssessInput,
  ConfiguredRoot,
  DeploymentAssessment,
  DeploymentNextSteps,
  DeploymentProblem,
  DeploymentProblemKind,
  ObservedRoot,
  RootProbeState,
} from "./types.js";
