import type { FileSystem } from "@proximadb/core";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import { describeFileSystem } from "@proximadb/testing/conformance";

let n = 0;
const volumes = new WeakMap<FileSystem, Volume>();
const onVolume = (volume: Volume) => {
  const fs = new MemoryFileSystem(`mem://conformance-${++n}`, { volume });
  volumes.set(fs, volume);
  return fs;
};
describeFileSystem("fs-memory", {
  // A fresh volume per root: nothing leaks between cases, and the volume is freed with the instance.
  create: () => onVolume(new Volume()),
  // copyFrom copies between roots of one volume (one file-system module).
  openSibling: (fs) => onVolume(volumes.get(fs) as Volume),
  openRoot: (url) => new MemoryFileSystem(url, { volume: new Volume() }),
  memoryResident: true,
});
