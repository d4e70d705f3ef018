// Conformance cases for the server's own checksums (`FsCapabilities.checksums`, `FileEntry.checksum`)
// and for `copyFrom` between two roots of one backend (`FsCapabilities.serverSideCopy`).
import { createHash } from "node:crypto";
import { type FileChecksum, type FileSystem, listAll } from "@proximadb/core";
import { describe, expect, it } from "vitest";
import { expectFsError } from "./helpers.js";

/** CRC32C (Castagnoli) of `bytes` as 8 lowercase hex digits, big-endian (GCS's `crc32c`, decoded). */
export function crc32cHex(bytes: Uint8Array): string {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, "0");
}

/** The checksum of `bytes` in `algorithm`, computed here. */
export function checksumOf(algorithm: FileChecksum["algorithm"], bytes: Uint8Array): string {
  return algorithm === "md5" ? createHash("md5").update(bytes).digest("hex") : crc32cHex(bytes);
}

/** A stand-in for `fs` that is not the adapter itself (another backend, a wrapper): `copyFrom` must refuse it. */
function wrapped(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/**
 * Registers the checksum and copyFrom cases (`fs()` is the case's root, `openSibling(fs)` opens another,
 * empty one that it can copy from).
 */
export function describeCopyAndChecksums(
  fs: () => FileSystem,
  openSibling: (fs: FileSystem) => Promise<FileSystem>,
  release: (fs: FileSystem | undefined) => Promise<void>,
): void {
  const bytes = Buffer.from("checksum me ".repeat(1000));
  const other = Buffer.from("other bytes ".repeat(999));

  describe("server checksums", () => {
    it("stat reports the server's checksum of exactly the stored bytes, or none when not declared", async () => {
      const algorithms = fs().capabilities.checksums ?? [];
      await fs().write("ck/a.bin", bytes);
      const st = await fs().stat("ck/a.bin");
      if (algorithms.length === 0) {
        expect(st.checksum).toBeUndefined();
        return;
      }
      const c = st.checksum as FileChecksum;
      expect(algorithms).toContain(c.algorithm);
      expect(c.value).toBe(checksumOf(c.algorithm, bytes));
      await fs().write("ck/a.bin", other);
      expect((await fs().stat("ck/a.bin")).checksum).toEqual({
        algorithm: c.algorithm,
        value: checksumOf(c.algorithm, other),
      });
    });
  });

  describe("copyFrom", () => {
    it("copies a key of another root of the same backend (same bytes and checksum, source kept) — when offered", async (ctx) => {
      const target = fs();
      if (!target.capabilities.serverSideCopy || !target.copyFrom) {
        expect(target.capabilities.serverSideCopy ?? false).toBe(false);
        ctx.skip();
        return;
      }
      const source = await openSibling(target);
      try {
        await source.write("cp/src.bin", bytes);
        await target.write("cp/dst.bin", other);
        const copied = await target.copyFrom(source, "cp/src.bin", "cp/dst.bin");
        expect(Buffer.from(await target.read("cp/dst.bin")).equals(bytes)).toBe(true);
        expect(Buffer.from(await source.read("cp/src.bin")).equals(bytes)).toBe(true);
        const [s, d] = [await source.stat("cp/src.bin"), await target.stat("cp/dst.bin")];
        expect(d.size).toBe(bytes.length);
        expect(d.checksum).toEqual(s.checksum);
        // `true`, or the copy's entry (FileSystem.copyFrom), which then says what its stat says.
        if (typeof copied === "object") {
          expect(copied).toMatchObject({ key: "cp/dst.bin", size: bytes.length });
          expect(copied.checksum).toEqual(d.checksum);
        } else expect(copied).toBe(true);
        await expectFsError(target.copyFrom(source, "cp/missing.bin", "cp/none.bin"), "NotFound");
        expect(await target.exists("cp/none.bin")).toBe(false);
        expect(await target.copyFrom(wrapped(source), "cp/src.bin", "cp/w.bin")).toBe(false);
        expect(await target.exists("cp/w.bin")).toBe(false);
      } finally {
        await release(source);
      }
    });

    it("with the source's listed entry copies that version only: a source rewritten since is copied as it is now, or not at all", async (ctx) => {
      const target = fs();
      if (!target.capabilities.serverSideCopy || !target.copyFrom) {
        ctx.skip();
        return;
      }
      const source = await openSibling(target);
      try {
        await source.write("cp/listed.bin", bytes);
        const listed = (await listAll(source, "cp/")).files.find((f) => f.key === "cp/listed.bin");
        expect(listed).toBeDefined();
        const entry = listed as NonNullable<typeof listed>;
        // Unchanged: copied, the same bytes.
        expect(
          await target.copyFrom(source, "cp/listed.bin", "cp/a.bin", { sourceEntry: entry }),
        ).toBeTruthy();
        expect(Buffer.from(await target.read("cp/a.bin")).equals(bytes)).toBe(true);
        // Rewritten after the listing: never the listed size or checksum claimed for other bytes.
        await source.write("cp/listed.bin", other);
        const done = await target.copyFrom(source, "cp/listed.bin", "cp/b.bin", { sourceEntry: entry });
        if (done === false) expect(await target.exists("cp/b.bin")).toBe(false);
        else {
          expect(Buffer.from(await target.read("cp/b.bin")).equals(other)).toBe(true);
          if (typeof done === "object") expect(done.size).toBe(other.length);
        }
        // An entry of another key is not taken for this one.
        const wrongKey = { ...entry, key: "cp/other.bin" };
        expect(
          await target.copyFrom(source, "cp/listed.bin", "cp/c.bin", { sourceEntry: wrongKey }),
        ).toBeTruthy();
        expect(Buffer.from(await target.read("cp/c.bin")).equals(other)).toBe(true);
      } finally {
        await release(source);
      }
    });

    it("with durable: false leaves a whole, readable copy that sync (where offered) makes durable", async (ctx) => {
      const target = fs();
      if (!target.capabilities.serverSideCopy || !target.copyFrom) {
        ctx.skip();
        return;
      }
      const source = await openSibling(target);
      try {
        await source.write("cp/src.bin", bytes);
        await target.write("cp/late.bin", other);
        expect(await target.copyFrom(source, "cp/src.bin", "cp/late.bin", { durable: false })).toBeTruthy();
        expect(Buffer.from(await target.read("cp/late.bin")).equals(bytes)).toBe(true);
        const keys = (await listAll(target, "cp/")).files.map((f) => f.key);
        expect(keys).toContain("cp/late.bin");
        expect(keys.filter((k) => k.includes(".tmp-"))).toEqual([]); // in place: no temp file left
        if (!target.sync) {
          // Copies there are durable when they resolve: nothing to sync.
          expect(target.capabilities.remote).toBe(true);
          return;
        }
        await target.copyFrom(source, "cp/src.bin", "deep/er/copy.bin", { durable: false });
        await target.sync(["cp/late.bin", "deep/er/copy.bin"]);
        expect(Buffer.from(await target.read("deep/er/copy.bin")).equals(bytes)).toBe(true);
        await expectFsError(target.sync(["cp/missing.bin"]), "NotFound");
        await expectFsError(target.sync(["../escape.bin"]), "InvalidKey");
      } finally {
        await release(source);
      }
    });
  });
}
