import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import { describeFileSystem } from "@proximadb/testing/conformance";

let n = 0;
describeFileSystem("fs-memory", {
  // A fresh volume per root: nothing leaks between cases, and the volume is freed with the instance.
  create: () => new MemoryFileSystem(`mem://conformance-${++n}`, { volume: new Volume() }),
  openRoot: (url) => new MemoryFileSystem(url, { volume: new Volume() }),
  memoryResident: true,
});
