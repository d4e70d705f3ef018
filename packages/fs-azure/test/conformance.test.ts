import { describeFileSystem } from "@proximadb/testing/conformance";
import { freshFs } from "./helpers.js";

// The shared FileSystem conformance suite, against Azurite's blob service (a real server driven by the
// real SDK). Every create() gets a fresh prefix in the "conformance" container.
describeFileSystem("fs-azure (Azurite)", {
  create: () => freshFs("conformance"),
  cleanup: async (fs) => {
    await fs.deletePrefix("many/").catch(() => undefined);
  },
  notVerifiable: {
    atomicMove:
      "Azure Blob has no atomic rename on the blob endpoint: a move is server-side copy + delete (capabilities.atomicMove is false); the DFS rename of hierarchical-namespace accounts needs the DFS endpoint, which Azurite does not emulate",
  },
});
