/**
 * A restart that changes `encoding` beside an empty segment of the other encoding. A kill -9 between a
 * rotation's create and its first write leaves an empty `.bincode` segment (bincode has no header, so
 * it is a valid, empty file). The next writer (Avro) starts its own segment at the same first sequence;
 * the one after that (bincode again) used to take the empty `.bincode` file for the newest segment (the
 * two sort equal), start again at its first sequence and issue sequences the Avro segment already held:
 * replay then yields sequences that go back, and two acknowledged records share a sequence. Seen in the
 * kill -9 loop (`kill9.test.ts`: "sequences strictly increasing", trial 4, twice in 29 runs).
 */
import { AssignmentService } from "@proximadb/core";
import { useBackend } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import { type WalEncoding, WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

describe.each(["memory", "local"] as const)("a restart with the other encoding (%s)", (kind) => {
  const backend = useBackend(kind);

  it("never issues a sequence an earlier segment of the same first sequence already holds", async () => {
    const roots = await backend.roots("wal", 1);
    const service = new AssignmentService({ components: { wal: { roots: roots.urls } } });
    const open = (encoding: WalEncoding) =>
      WriteAheadLog.open({ service, openFileSystem: roots.openFileSystem, encoding });
    const acked = new Map<string, number>();
    const append = async (wal: WriteAheadLog, from: number, count: number) => {
      const batch = entries(from, count);
      const { first } = await wal.append("orders", batch);
      for (const [i, e] of batch.entries()) acked.set(e.id, first + i);
    };

    let wal = await open("bincode");
    await append(wal, 0, 5); // sequences 1..5
    await wal.close();
    // What a kill between the rotation's create and its first write leaves: an empty bincode segment.
    const fs = roots.openFileSystem(roots.urls[0] as string);
    await fs.write("orders/wal-00000000000000000006.bincode", new Uint8Array(0));

    wal = await open("avro");
    await append(wal, 5, 3); // 6..8, in wal-…6.avro
    await wal.close();
    wal = await open("bincode");
    await append(wal, 8, 2);
    await wal.close();

    wal = await open("avro");
    const replayed = await collect(wal.replay("orders"));
    await wal.close();
    const seqs = replayed.map((r) => r.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(new Map(replayed.map((r) => [r.id, r.sequence]))).toEqual(acked);
    expect(acked.size).toBe(10);
  });
});
