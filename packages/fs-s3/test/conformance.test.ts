import { describeFileSystem } from "@proximadb/testing/conformance";
import { S3FileSystem } from "../src/index.js";
import { emulatorOptions, openFresh } from "./support/s3.js";

const MiB = 1024 * 1024;

// Each create() opens a fresh random prefix in the shared s3rver bucket. Small parts keep the 50 MiB
// stream's memory far below the body size (about part size × (queue + 2)).
describeFileSystem("fs-s3 on s3rver", {
  create: () => openFresh({ multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, queueSize: 1 }),
  openRoot: (url) => new S3FileSystem(url, emulatorOptions()),
  cleanup: async (fs) => {
    for await (const page of fs.list("")) await fs.deleteMany(page.files.map((f) => f.key));
  },
  notVerifiable: {
    conditionalCreateRace:
      "s3rver ignores If-None-Match; the adapter sends it (see wire.test.ts), AWS enforces it, s3rver cannot show the race",
    atomicMove: "S3 has no rename: a move is CopyObject then DeleteObject (capabilities.atomicMove is false)",
  },
});
