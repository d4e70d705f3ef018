export {
  LocalFileSystem,
  localFileSystemProvider,
  LOCAL_CAPABILITIES,
  type FsModule,
  type FsPromisesModule,
  type LocalFileSystemOptions,
  type LocalListOptions,
} from "./local-file-system.js";
export { kindOfErrno } from "./errors.js";
export { compareUtf8 } from "./keys.js";
