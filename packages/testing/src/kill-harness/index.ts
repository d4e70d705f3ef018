/**
 * The kill -9 harness: child processes under test, read line by line, killed at a chosen or seeded
 * instant, with what they acknowledged before dying. Node built-ins only.
 */
export {
  type ChildRun,
  type LineMatch,
  type RunChildOptions,
  type SpawnedChild,
  type StartChildOptions,
  killLiveChildren,
  lastJsonLine,
  parseJsonLine,
  runChild,
  startChild,
} from "./child.js";
export {
  type ChildCommand,
  type NodeChildOptions,
  type TsChildOptions,
  nodeChild,
  tsChild,
} from "./command.js";
export {
  type CrashChildBundle,
  type CrashPoint,
  type CrashingFileSystems,
  crashChildBundle,
  crashChildFiles,
  crashPointOf,
  crashingFileSystems,
  MUTATING_FS_OPERATIONS,
} from "./crash-fs.js";
export { type ChildExit, ChildProcessError, type ChildProcessErrorKind } from "./errors.js";
export { type KillOptions, type KillRun, runAndKill } from "./kill.js";
export { type Trial, type TrialsOptions, runTrials } from "./trials.js";
export { deriveSeed, randomInt, seededRandom } from "../random.js";
