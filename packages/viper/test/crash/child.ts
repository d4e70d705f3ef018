/**
 * Crash-test child: opens VIPER on a local root and compacts one collection, SIGKILLing itself just
 * before or just after its K-th mutating storage operation. Prints `{"ops":N}` when it gets to the end.
 * Usage: node --conditions=@proximadb/source --import tsx child.ts <rootUrl> <collection> <killAt> <before|after> <targetBytes>
 */
import { AssignmentService, type FileSystem } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { ViperEngine } from "../../src/index.js";

const [rootUrl, collection, killAtArg, when, targetArg] = process.argv.slice(2);
if (!rootUrl || !collection || !killAtArg || !targetArg)
  throw new Error("usage: child.ts <rootUrl> <collection> <killAt> <before|after> <targetBytes>");
const killAt = Number(killAtArg);
const MUTATING = new Set(["write", "writeStream", "move", "delete", "deleteMany", "deletePrefix"]);
let armed = false;
let ops = 0;

function crashing(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (!MUTATING.has(String(prop))) return value.bind(target);
      return async (...args: unknown[]) => {
        if (armed && ++ops === killAt && when === "before") process.kill(process.pid, "SIGKILL");
        const result = await value.apply(target, args);
        if (armed && ops === killAt && when === "after") process.kill(process.pid, "SIGKILL");
        return result;
      };
    },
  });
}

const service = new AssignmentService({ components: { viper: { roots: [rootUrl] } } });
const viper = await ViperEngine.open({
  service,
  openFileSystem: (root) => crashing(new LocalFileSystem(root)),
  nodeId: "crash-node",
});
armed = true;
await viper.compact(collection, { targetFileBytes: Number(targetArg) });
armed = false;
await viper.close();
process.stdout.write(JSON.stringify({ ops }));
