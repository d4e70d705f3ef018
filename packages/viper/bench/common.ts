import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { type VectorRecord, ViperEngine } from "../src/index.js";

/** A fresh local root in a temporary folder and VIPER opened on it. */
export async function localViper(): Promise<{ dir: string; root: string; viper: ViperEngine }> {
  const dir = await mkdtemp(join(tmpdir(), "viper-bench-"));
  const root = join(dir, "root");
  await mkdir(root);
  const service = new AssignmentService({ components: { viper: { roots: [`file://${root}`] } } });
  const viper = await ViperEngine.open({
    service,
    openFileSystem: (r) => new LocalFileSystem(r),
    nodeId: "bench",
  });
  return { dir, root, viper };
}

/** `count` records of `dimension` random floats with a small JSON metadata object. */
export function records(count: number, dimension: number, start = 0): VectorRecord[] {
  const out: VectorRecord[] = [];
  for (let i = 0; i < count; i++) {
    const vector = new Float32Array(dimension);
    for (let j = 0; j < dimension; j++) vector[j] = Math.random();
    out.push({ id: `doc-${start + i}`, vector, metadata: { n: start + i, tag: `t${i % 10}` } });
  }
  return out;
}
