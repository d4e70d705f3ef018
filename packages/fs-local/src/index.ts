export {
  LocalFileSystem,
  localFileSystemProvider,
  LOCAL_CAPABILITIES,
  type LocalFileSystemOptions,
  type LocalListOptions,
} from "./local-file-system.js";
export type { FsModule, FsPromisesModule } from "./fs-module.js";
export { kindOfErrno } from "./errors.js";
export { compareUtf8 } from "./keys.js";
