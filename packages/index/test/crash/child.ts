/**
 * Crash-test child: opens the index engine on a local root, applies round R's changes to one collection in
 * memory, then saves them by `flush` or `compact`, SIGKILLing itself just before or just after the K-th
 * mutating storage operation of that save. Prints `{"ops":N}` when it gets to the end.
 * Usage: node --conditions=@proximadb/source --import tsx child.ts <rootUrl> <collection> <round> <flush|compact> <killAt> <before|after>
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { crashPointOf, crashingFileSystems } from "@proximadb/testing/kill-harness";
import { IndexEngine } from "../../src/index.js";
import { roundChanges } from "./ops.js";

const [rootUrl, collection, roundArg, mode, killAtArg, when] = process.argv.slice(2);
if (!rootUrl || !collection || !roundArg || !mode || !killAtArg || !when) {
  throw new Error("usage: child.ts <rootUrl> <collection> <round> <flush|compact> <killAt> <before|after>");
}
const crash = crashingFileSystems(crashPointOf(killAtArg, when));

const service = new AssignmentService({ components: { index: { roots: [rootUrl] } } });
const index = await IndexEngine.open({
  service,
  openFileSystem: (root) => crash.wrap(new LocalFileSystem(root)),
  nodeId: "crash-node",
  // A killed child never removes its temporary folder: keep it in the fixture's folder, which the test removes.
  tmpDir: dirname(fileURLToPath(rootUrl)),
});
const changes = roundChanges(Number(roundArg));
await index.add(collection, changes.adds);
await index.delete(collection, changes.deletes);
crash.arm();
if (mode === "compact") await index.compact(collection);
else await index.flush(collection);
crash.disarm();
await index.close({ flush: false });
process.stdout.write(JSON.stringify({ ops: crash.ops }));
