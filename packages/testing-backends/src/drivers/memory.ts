import { parseStorageUrl } from "@proximadb/core";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import type { BackendDriver } from "../driver.js";
import { type TreeFs, readTree } from "./tree.js";

/** memfs: one fresh volume per backend; set `s1` is the folder `/s1`, its roots `mem://s1/<name>`. */
export function memoryDriver(): BackendDriver {
  const volume = new Volume();
  const promises = volume.promises as unknown as TreeFs;
  return {
    kind: "memory",
    settableMtime: true,
    endpoint: undefined,
    open: (root) => new MemoryFileSystem(root, { volume }),
    async createRoots(set, names) {
      return names.map((name) => {
        volume.mkdirSync(`/${set}/${name}`, { recursive: true });
        return `mem://${set}/${name}`;
      });
    },
    absentUrl: (set, name) => `mem://${set}/${name}`,
    async touch(url, key, mtimeMs) {
      volume.utimesSync(`${parseStorageUrl(url).path}/${key}`, mtimeMs / 1000, mtimeMs / 1000);
    },
    snapshot: async (set) => (volume.existsSync(`/${set}`) ? readTree(promises, `/${set}`) : {}),
    async removeSet(set) {
      volume.rmSync(`/${set}`, { recursive: true, force: true });
    },
    async stop() {
      volume.reset();
    },
  };
}
