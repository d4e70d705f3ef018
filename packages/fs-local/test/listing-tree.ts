/** The folder tree the listing tests walk, shared by the sized and the names-only listing suites. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { compareUtf8 } from "@proximadb/fs-local";

/**
 * Writes `folders` folders `coll-000`… under `root`, each with `files` files `seg-<i>.sst` (i + 1 bytes)
 * and `level-0/deep.sst`; returns every key in listing order.
 */
export async function writeTree(root: string, folders: number, files: number): Promise<string[]> {
  const keys: string[] = [];
  for (let f = 0; f < folders; f++) {
    const folder = `coll-${String(f).padStart(3, "0")}`;
    await mkdir(join(root, folder, "level-0"), { recursive: true });
    for (let i = 0; i < files; i++) {
      keys.push(`${folder}/seg-${i}.sst`);
      await writeFile(join(root, folder, `seg-${i}.sst`), "x".repeat(i + 1));
    }
    keys.push(`${folder}/level-0/deep.sst`);
    await writeFile(join(root, folder, "level-0", "deep.sst"), "deep");
  }
  return keys.sort(compareUtf8);
}

/** What a listing of `writeTree(root, 3, 2)` yields before it reaches `coll-002/`. */
export const KEYS_BEFORE_COLL_002 = [
  "coll-000/level-0/deep.sst",
  "coll-000/seg-0.sst",
  "coll-000/seg-1.sst",
  "coll-001/level-0/deep.sst",
  "coll-001/seg-0.sst",
  "coll-001/seg-1.sst",
];
