import { join } from "node:path";
import { tmpdir } from "node:os";
import { LocalFileSystem } from "@proximadb/fs-local";
import { discover } from "../src/index.ts";
const base = join(tmpdir(), "proximadb-discovery-bench-local");
const roots = Array.from({ length: 4 }, (_, i) => join(base, `root-${i}`));
const fss = roots.map((r) => new LocalFileSystem(`file://${r}`));
const mode = process.argv[2] ?? "discover";
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  if (mode === "discover") await discover({ component: "lsm", roots: fss });
  else {
    let n = 0;
    await Promise.all(
      fss.map(async (fs) => {
        for await (const p of fs.list("")) n += p.files.length;
      }),
    );
  }
  console.log(mode, (performance.now() - t0).toFixed(0));
}
