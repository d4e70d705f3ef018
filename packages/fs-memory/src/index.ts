export {
  MemoryFileSystem,
  MEMORY_CAPABILITIES,
  memoryFileSystemProvider,
  createMemoryRoots,
  sharedMemoryVolume,
  type MemoryFileSystemOptions,
  type MemoryFileSpec,
  type MemoryRoots,
} from "./memory-file-system.js";
export { Volume } from "memfs";
