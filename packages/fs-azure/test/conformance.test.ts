import { describeFileSystem } from "@proximadb/testing/conformance";
import { AzureBlobFileSystem } from "../src/index.js";
import { FAST_RETRIES, azurite, freshFs } from "./helpers.js";

// The shared FileSystem conformance suite, against Azurite's blob service (a real server driven by the
// real SDK). Every create() gets a fresh prefix in the "conformance" container.
describeFileSystem("fs-azure (Azurite)", {
  create: () => freshFs("conformance"),
  openRoot: (url) =>
    new AzureBlobFileSystem(url, {
      accountKey: azurite().accountKey,
      endpoint: azurite().blobEndpoint,
      retryOptions: FAST_RETRIES,
    }),
  cleanup: async (fs) => {
    await fs.deletePrefix("many/").catch(() => undefined);
  },
  notVerifiable: {
    atomicMove:
      "Azure Blob has no atomic rename on the blob endpoint: a move is server-side copy + delete (capabilities.atomicMove is false); the DFS rename of hierarchical-namespace accounts needs the DFS endpoint, which Azurite does not emulate",
  },
});
