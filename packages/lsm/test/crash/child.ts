// Crash-test writer: applies a deterministic stream of writes to one collection on local disk, flushing
// every few batches (and compacting now and then, which flushes first), and prints "F <ops>" after each
// acknowledged flush or compaction.
// The parent kills it with SIGKILL at a random instant and checks what a reopen finds.
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { LsmEngine } from "../../src/index.js";
import { opAt } from "./ops.js";

const [url, round] = process.argv.slice(2) as [string, string];
const service = new AssignmentService({ components: { lsm: { roots: [url] } } });
const lsm = await LsmEngine.open({
  service,
  openFileSystem: (r) => new LocalFileSystem(r),
  nodeId: "crash-child",
  memtableBytes: 1 << 30,
  levelFanout: 2,
  blockBytes: 512,
});
process.stdout.write("READY\n");
let applied = 0;
for (let batch = 0; ; batch++) {
  const ops = [];
  for (let i = 0; i < 200; i++) ops.push(opAt(Number(round), applied++));
  await lsm.batch("crashy", ops);
  if (batch % 3 === 2) {
    await lsm.flush("crashy");
    process.stdout.write(`F ${applied}\n`);
  }
  if (batch % 10 === 9) {
    await lsm.compact("crashy"); // flushes first: a flush point too
    process.stdout.write(`F ${applied}\n`);
  }
}
