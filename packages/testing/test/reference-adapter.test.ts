// The suite passes on a small correct adapter: the baseline against which the broken variants fail.
import { describeFileSystem } from "@proximadb/testing/conformance";
import { MapFileSystem } from "./fixtures/map-file-system.js";

let n = 0;
describeFileSystem("reference Map adapter", {
  create: () => new MapFileSystem(`mem://map-${++n}`),
  openRoot: (url) => new MapFileSystem(url),
  streamBytes: 8 * 1024 * 1024,
  memoryResident: true,
});
