// Listing 20,000 keys on fs-local, flat and in delimiter mode. The "requests" column counts folder reads
// (readdir calls), the local analogue of LIST requests on an object store.
import * as nodeFs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listAll } from "@proximadb/core";
import { type FsModule, LocalFileSystem } from "@proximadb/fs-local";
import { median, printTable, timeRuns, writeResult } from "../../../bench/lib.js";

const COLLECTIONS = 200;
const FILES_PER_COLLECTION = 100;
const KEYS = COLLECTIONS * FILES_PER_COLLECTION;
const dir = await mkdtemp(join(tmpdir(), "pdb-bench-list-"));

let readdirs = 0;
const countingPromises = new Proxy(nodeFs.promises, {
  get(target, prop: string) {
    const real = (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop] as (
      ...a: unknown[]
    ) => unknown;
    if (prop !== "readdir") return real;
    return (...args: unknown[]) => {
      readdirs++;
      return real.apply(target, args);
    };
  },
});
// node:fs with readdir counted, in both APIs: listings use the callback readdir/stat when a module has them.
const counting: FsModule = {
  promises: countingPromises,
  readdir: (...args: unknown[]) => {
    readdirs++;
    return (nodeFs.readdir as (...a: unknown[]) => void)(...args);
  },
  stat: nodeFs.stat,
};
const fs = new LocalFileSystem(dir, { fs: counting });
// The same, promise API only: the fallback path a module without callback readdir/stat takes.
const promiseOnly = new LocalFileSystem(dir, { fs: { promises: countingPromises } });

try {
  // 200 collections x 100 segment files: coll-000/seg-00000.sst ...
  const keys = Array.from({ length: KEYS }, (_, i) => {
    const c = String(Math.floor(i / FILES_PER_COLLECTION)).padStart(3, "0");
    return `coll-${c}/seg-${String(i).padStart(5, "0")}.sst`;
  });
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) await fs.write(keys[next++] as string, "x");
    }),
  );

  const cases: { name: string; prefix: string; delimiter: boolean; expect: number; fs?: LocalFileSystem }[] =
    [
      { name: "flat, whole root", prefix: "", delimiter: false, expect: KEYS },
      { name: "flat, promise-API module", prefix: "", delimiter: false, expect: KEYS, fs: promiseOnly },
      { name: "delimiter, root level", prefix: "", delimiter: true, expect: COLLECTIONS },
      {
        name: "delimiter, one collection",
        prefix: "coll-007/",
        delimiter: true,
        expect: FILES_PER_COLLECTION,
      },
    ];
  const rows = [];
  const figures: Record<string, unknown>[] = [];
  for (const c of cases) {
    readdirs = 0;
    const target = c.fs ?? fs;
    const first = await listAll(target, c.prefix, { delimiter: c.delimiter });
    const entries = first.files.length + first.prefixes.length;
    if (entries !== c.expect) throw new Error(`${c.name}: listed ${entries}, expected ${c.expect}`);
    const requests = readdirs;
    const times = await timeRuns(() => listAll(target, c.prefix, { delimiter: c.delimiter }), 5, 1);
    rows.push({
      case: c.name,
      entries,
      "readdir requests": requests,
      "median ms": median(times),
      "keys/s": Math.round(entries / (median(times) / 1000)),
    });
    figures.push({
      case: c.name,
      entries,
      readdirRequests: requests,
      medianMs: median(times),
      runsMs: times,
    });
  }
  printTable(`listing ${KEYS.toLocaleString("en-US")} keys on fs-local (median of 5)`, rows);
  writeResult("fs-local", "fs-list", { keys: KEYS, collections: COLLECTIONS, cases: figures });
} finally {
  await rm(dir, { recursive: true, force: true });
}
