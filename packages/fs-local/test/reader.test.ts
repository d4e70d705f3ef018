import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isFsError } from "@proximadb/core";
import { LocalFileSystem } from "@proximadb/fs-local";
import { describe, expect, it } from "vitest";
import { type DescriptorIo, DescriptorReader } from "../src/handles.js";
import { tempDirPerTest } from "./temp-dir.js";

describe("positional readers on a raw descriptor", () => {
  const dir = tempDirPerTest("pdb-fs-local-reader-");

  it("reads ranges, and refuses a read after close with an FsError (the descriptor may be reused)", async () => {
    await writeFile(join(dir(), "t"), Buffer.from("0123456789"));
    const fs = new LocalFileSystem(dir());
    const reader = await fs.openReader("t");
    expect(Buffer.from(await reader.read(2, 3)).toString()).toBe("234");
    expect(Buffer.from(await reader.read(8, 10)).toString()).toBe("89");
    await reader.close();
    await reader.close(); // idempotent
    const err = await reader.read(0, 1).catch((e: unknown) => e);
    expect(isFsError(err)).toBe(true);
  });

  it("close waits for the reads in flight before it releases the descriptor", async () => {
    const events: string[] = [];
    let finish: (() => void) | undefined;
    const io: DescriptorIo = {
      open: async () => 7,
      read: (_fd, buf, offset, length) =>
        new Promise((resolve) => {
          finish = () => {
            buf.fill(1, offset, offset + length);
            events.push("read done");
            resolve(length);
          };
        }),
      close: async (fd) => {
        events.push(`close ${fd}`);
      },
    };
    const reader = new DescriptorReader(io, 7);
    const pending = reader.read(0, 4);
    await Promise.resolve();
    const closed = reader.close();
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual([]); // the descriptor is still held by the read
    finish?.();
    expect([...(await pending)]).toEqual([1, 1, 1, 1]);
    await closed;
    expect(events).toEqual(["read done", "close 7"]);
  });
});
