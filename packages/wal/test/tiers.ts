import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppendHandle, FileSystem, StorageRoot } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { MemoryFileSystem, Volume } from "@proximadb/fs-memory";
import { S3FileSystem } from "@proximadb/fs-s3";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";

/** Storage roots on one backend; `open` gives a fresh FileSystem, as a restarted node would. */
export interface Tier {
  readonly name: string;
  readonly urls: string[];
  open(root: StorageRoot): FileSystem;
  cleanup(): Promise<void>;
}

export async function memoryTier(): Promise<Tier> {
  const volume = new Volume();
  const urls = ["mem://wal1", "mem://wal2"];
  for (const u of urls) volume.mkdirSync(`/${u.slice(6)}`, { recursive: true });
  return { name: "memfs", urls, open: (r) => new MemoryFileSystem(r, { volume }), cleanup: async () => {} };
}

export async function localTier(): Promise<Tier> {
  const base = await mkdtemp(join(tmpdir(), "proximadb-wal-"));
  const urls: string[] = [];
  for (const d of ["wal1", "wal2"]) {
    await mkdir(join(base, d));
    urls.push(`file://${base}/${d}`);
  }
  return {
    name: "local disk",
    urls,
    open: (r) => new LocalFileSystem(r),
    cleanup: () => rm(base, { recursive: true, force: true }),
  };
}

let s3: S3rverInstance | undefined;
let bucketSeq = 0;

/** s3rver (real server, real AWS SDK client through S3FileSystem); started once per test file. */
export async function s3Tier(): Promise<Tier> {
  s3 ??= await startS3rver();
  const server = s3;
  const buckets = [`wal-a-${++bucketSeq}`, `wal-b-${bucketSeq}`];
  for (const b of buckets) await server.createBucket(b);
  return {
    name: "s3rver",
    urls: buckets.map((b) => `s3://${b}/proximadb`),
    open: (r) => new S3FileSystem(r, { ...server.clientConfig }),
    cleanup: async () => {},
  };
}

export async function stopS3(): Promise<void> {
  await s3?.stop();
  s3 = undefined;
}

/** Counts fsyncs of append handles and whole-object writes of a file system. */
export interface Counters {
  syncs: number;
  writes: number;
}

/** Wraps a file system so that fsyncs (append handles) and durable whole-key writes are counted. */
export function counting(fs: FileSystem, counters: Counters): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === "openAppend") {
        return async (key: string): Promise<AppendHandle> => {
          const h = await target.openAppend(key);
          return {
            get size() {
              return h.size;
            },
            write: (d) => h.write(d),
            sync: () => {
              counters.syncs++;
              return h.sync();
            },
            truncate: (n) => h.truncate(n),
            close: () => h.close(),
          };
        };
      }
      if (prop === "write") {
        return (...args: Parameters<FileSystem["write"]>) => {
          counters.writes++;
          return target.write(...args);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
