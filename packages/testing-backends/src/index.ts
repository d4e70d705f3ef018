export { assertBackendKind, openBackend } from "./backend.js";
export { type BackendSuiteOptions, describeOnBackends, useBackend } from "./describe.js";
export { TEST_BUCKET } from "./drivers/object-stores.js";
export { type KillRoots, useKillRoots } from "./kill-roots.js";
export { type PerTestRoots, rootsPerTest } from "./per-test.js";
export { type PlaceAndDropCase, type PlacingEngine, expectPlaceAndDrop } from "./placement-contract.js";
export {
  type ReleasableEngine,
  type ReleaseScenario,
  type ReleaseTest,
  describeRelease,
} from "./release-suite.js";
export {
  BACKEND_KINDS,
  BACKEND_NAMES,
  type BackendKind,
  type FileSpec,
  type OpenOverrides,
  type RootSet,
  type StorageBackend,
} from "./types.js";
