import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalFileSystem } from "@proximadb/fs-local";
import { describeFileSystem } from "@proximadb/testing/conformance";

describeFileSystem("fs-local", {
  create: async () => new LocalFileSystem(await mkdtemp(join(tmpdir(), "pdb-fs-local-"))),
  openRoot: (url) => new LocalFileSystem(url),
  cleanup: async (fs) => {
    await rm(fs.root.path as string, { recursive: true, force: true });
  },
});
