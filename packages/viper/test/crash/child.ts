/**
 * Crash-test child: opens VIPER on a local root and compacts one collection, SIGKILLing itself just
 * before or just after its K-th mutating storage operation. Prints `{"ops":N}` when it gets to the end.
 * Usage: node --conditions=@proximadb/source --import tsx child.ts <rootUrl> <collection> <killAt> <before|after> <targetBytes>
 */
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { crashPointOf, crashingFileSystems } from "@proximadb/testing/kill-harness";
import { ViperEngine } from "../../src/index.js";

const [rootUrl, collection, killAtArg, when, targetArg] = process.argv.slice(2);
if (!rootUrl || !collection || !killAtArg || !targetArg)
  throw new Error("usage: child.ts <rootUrl> <collection> <killAt> <before|after> <targetBytes>");
const crash = crashingFileSystems(crashPointOf(killAtArg, when));

const service = new AssignmentService({ components: { viper: { roots: [rootUrl] } } });
const viper = await ViperEngine.open({
  service,
  openFileSystem: (root) => crash.wrap(new LocalFileSystem(root)),
  nodeId: "crash-node",
});
crash.arm();
await viper.compact(collection, { targetFileBytes: Number(targetArg) });
crash.disarm();
await viper.close();
process.stdout.write(JSON.stringify({ ops: crash.ops }));
