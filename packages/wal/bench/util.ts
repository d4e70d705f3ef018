import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AssignmentService, type FileSystem } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { type SyncPolicy, type WalEncoding, type WalEntry, WriteAheadLog } from "../src/index.js";
import { counting } from "../test/counting.js";

/** A 1 KiB record: the payload is 1,024 bytes. */
export function record(i: number): WalEntry {
  const payload = new Uint8Array(1024);
  payload.fill(i & 255);
  return { op: "put", id: `k${i}`, payload, timestamp: 1_700_000_000_000 };
}

/** A fresh, empty root folder; removing `dir` removes everything the run wrote. */
export async function freshRoot(): Promise<{ dir: string; url: string }> {
  const dir = await mkdtemp(join(tmpdir(), "proximadb-wal-bench-"));
  return { dir, url: `file://${dir}` };
}

export async function openWal(
  url: string,
  options: { sync?: SyncPolicy; encoding?: WalEncoding; segmentBytes?: number } = {},
  wrap: (fs: FileSystem) => FileSystem = (fs) => fs,
) {
  const counter = { syncs: 0, writes: 0 };
  const service = new AssignmentService({ components: { wal: { roots: [url] } } });
  const wal = await WriteAheadLog.open({
    service,
    openFileSystem: (r) => counting(wrap(new LocalFileSystem(r)), counter),
    ...options,
  });
  return { wal, counter };
}
