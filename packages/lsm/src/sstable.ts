import {
  type EpochStart,
  epochSuffix,
  fenceMarkerName,
  parseEpochDigits,
  parseFenceMarker,
} from "@proximadb/engine";
/**
 * The SSTable file format (documented in the README):
 *
 *     [data block]* [meta block] [index block] [bloom block] [footer: 56 bytes]
 *
 * Every block is followed by a 4-byte CRC32C of its bytes. Data blocks (~4 KiB) hold entries with
 * prefix compression and a restart point every 16 entries; the index holds each data block's last key
 * and handle; the meta block names the file (level, number), the files it replaces, its key range and
 * entry count; the footer holds the magic, the version, the three handles and its own CRC32C.
 */
import { crc32c } from "@node-rs/crc32";
import type { FileSystem, PositionalReader } from "@proximadb/core";
import { ABSENT, BlockIndex, TOMBSTONE, foundLength, searchBlock } from "./block.js";
import { bloomMayContain, buildBloom, hash32 } from "./bloom.js";
import { ByteReader, ByteWriter, compareBytes, copyOut } from "./bytes.js";
import type { BlockCache, CacheSlots } from "./cache.js";
import { LsmCorruptionError, type LsmCorruptionKind } from "./errors.js";

/** `PXLSMSST` */
export const SST_MAGIC = Buffer.from("PXLSMSST", "latin1");
/** Format version written into every footer. */
export const SST_VERSION = 1;
/** Size of the fixed footer. */
export const FOOTER_SIZE = 56;
const RESTART_INTERVAL = 16;
const TAIL_READ = 64 * 1024;
const SCAN_READ = 1024 * 1024;

/** A file of this tree: its level and number (`level-<level>/<number>.sst`). */
export interface FileId {
  readonly level: number;
  readonly number: number;
}

/** What the meta block says about a file. */
export interface SSTableMeta extends FileId {
  /** Files this one replaces: once this file is committed they are dead (see the README's protocol). */
  readonly replaces: readonly FileId[];
  readonly entries: number;
  readonly minKey: Uint8Array;
  readonly maxKey: Uint8Array;
}

/** Options of the SSTable writer. */
export interface SSTableWriterOptions {
  /** Target size of a data block before its restart array (default 4096). */
  blockBytes?: number;
  /** Bloom filter bits per key (default 10). */
  bloomBitsPerKey?: number;
}

/** Root-relative name of a file inside its collection directory. */
export function sstName(id: FileId, epoch = 0): string {
  return `level-${id.level}/${String(id.number).padStart(8, "0")}${epochSuffix(epoch)}.sst`;
}

const SST_NAME = /^level-(\d{1,3})\/(\d{1,15})(?:-e(\d{10}))?\.sst$/;

/**
 * Parses `level-<n>/<number>.sst` or, written by a writer fenced at epoch `e` (see the README's
 * "Fencing"), `level-<n>/<number>-e<e, 10 digits>.sst` (relative to the collection directory). `epoch` is
 * present only in the second form.
 */
export function parseSstName(name: string): (FileId & { readonly epoch?: number }) | undefined {
  const m = SST_NAME.exec(name);
  if (!m) return undefined;
  const epoch = parseEpochDigits(m[3]);
  if (Number.isNaN(epoch)) return undefined;
  return { level: Number(m[1]), number: Number(m[2]), ...(epoch > 0 ? { epoch } : {}) };
}

/** Name (relative to the collection directory) of the marker a fence at `epoch` writes: its tables are numbered from `first`. */
export function lsmFenceMarkerName(epoch: number, first: number): string {
  return fenceMarkerName("level-", epoch, first, 16);
}

/** Parses a name made by {@link lsmFenceMarkerName}. */
export function parseLsmFenceMarker(name: string): EpochStart | undefined {
  return parseFenceMarker("level-", name);
}

function appendCrc(w: ByteWriter, start: number): void {
  w.u32(crc32c(w.buf.subarray(start, w.length)));
}

/**
 * Builds an SSTable from entries added in strictly ascending key order. `add` returns completed
 * chunks to write out as they fill, so a compaction streams its output without holding it whole.
 */
export class SSTableWriter {
  readonly #out = new ByteWriter(256 * 1024);
  readonly #block = new ByteWriter(8192);
  readonly #index = new ByteWriter(16 * 1024);
  readonly #restarts: number[] = [];
  #hashes = new Uint32Array(1024);
  #count = 0;
  #blockCount = 0;
  #offset = 0;
  /** The last key added is `#prev[0, #prevLen)`. */
  #prev: Uint8Array = new Uint8Array(64);
  #prevLen = 0;
  #min: Uint8Array | undefined;
  readonly #blockBytes: number;
  readonly #bitsPerKey: number;

  constructor(options: SSTableWriterOptions = {}) {
    this.#blockBytes = options.blockBytes ?? 4096;
    this.#bitsPerKey = options.bloomBitsPerKey ?? 10;
  }

  /** Entries added so far. */
  get entries(): number {
    return this.#count;
  }

  /**
   * Adds one entry: key `key[keyOff, keyOff + keyLen)`, value `val[valOff, valOff + valLen)` or a tombstone when
   * `valLen` is −1. The bytes are copied: the caller may reuse its buffers. Returns a chunk to write
   * when 256 KiB are ready.
   */
  add(
    key: Uint8Array,
    keyOff: number,
    keyLen: number,
    val: Uint8Array,
    valOff: number,
    valLen: number,
  ): Uint8Array | undefined {
    const prev = this.#prev;
    let shared = 0;
    if (this.#blockCount % RESTART_INTERVAL === 0) this.#restarts.push(this.#block.length);
    else {
      const max = Math.min(keyLen, this.#prevLen);
      while (shared < max && key[keyOff + shared] === prev[shared]) shared++;
    }
    const b = this.#block;
    b.varint(shared);
    b.varint(keyLen - shared);
    b.varint(valLen < 0 ? 0 : valLen + 1);
    b.bytes(key, keyOff + shared, keyOff + keyLen);
    if (valLen > 0) b.bytes(val, valOff, valOff + valLen);
    if (this.#count === this.#hashes.length) {
      const grown = new Uint32Array(this.#hashes.length * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[this.#count++] = hash32(key, undefined, keyLen, keyOff);
    this.#blockCount++;
    if (this.#min === undefined) this.#min = Uint8Array.prototype.slice.call(key, keyOff, keyOff + keyLen);
    // Keep our own copy of the key: the caller's buffer moves on.
    if (keyLen > prev.length) {
      const grown = new Uint8Array(Math.max(keyLen, prev.length * 2));
      grown.set(prev.subarray(0, shared));
      this.#prev = grown;
    }
    const p = this.#prev;
    for (let i = shared; i < keyLen; i++) p[i] = key[keyOff + i] as number;
    this.#prevLen = keyLen;
    if (b.length >= this.#blockBytes) this.#finishBlock();
    if (this.#out.length >= 256 * 1024) return this.#drain();
    return undefined;
  }

  #drain(): Uint8Array {
    const chunk = Buffer.from(this.#out.view());
    this.#offset += chunk.length;
    this.#out.reset();
    return chunk;
  }

  #finishBlock(): void {
    if (this.#blockCount === 0) return;
    const b = this.#block;
    for (const r of this.#restarts) b.u32(r);
    b.u32(this.#restarts.length);
    const offset = this.#offset + this.#out.length;
    this.#out.bytes(b.view());
    this.#out.u32(crc32c(b.view()));
    this.#index.varint(this.#prevLen);
    this.#index.bytes(this.#prev, 0, this.#prevLen);
    this.#index.varint(offset);
    this.#index.varint(b.length);
    b.reset();
    this.#restarts.length = 0;
    this.#blockCount = 0;
  }

  /** Writes the meta, index and bloom blocks and the footer; returns the last chunk. */
  finish(meta: { level: number; number: number; replaces: readonly FileId[] }): Uint8Array {
    this.#finishBlock();
    const out = this.#out;
    const base = () => this.#offset + out.length;
    // meta
    const metaOff = base();
    let start = out.length;
    out.varint(meta.level);
    out.varint(meta.number);
    out.varint(this.#count);
    out.varint(meta.replaces.length);
    for (const r of meta.replaces) {
      out.varint(r.level);
      out.varint(r.number);
    }
    const min = this.#min ?? new Uint8Array(0);
    out.varint(min.length);
    out.bytes(min);
    out.varint(this.#prevLen);
    out.bytes(this.#prev, 0, this.#prevLen);
    const metaLen = out.length - start;
    appendCrc(out, start);
    // index
    const indexOff = base();
    start = out.length;
    out.bytes(this.#index.view());
    const indexLen = out.length - start;
    appendCrc(out, start);
    // bloom
    const bloomOff = base();
    start = out.length;
    out.bytes(buildBloom(this.#hashes.subarray(0, this.#count), this.#bitsPerKey));
    const bloomLen = out.length - start;
    appendCrc(out, start);
    // footer
    out.ensure(FOOTER_SIZE);
    const f = out.buf.subarray(out.length, out.length + FOOTER_SIZE);
    SST_MAGIC.copy(f, 0);
    f.writeUInt32LE(SST_VERSION, 8);
    f.writeUInt32LE(0, 12);
    writeU64(f, 16, metaOff);
    f.writeUInt32LE(metaLen, 24);
    writeU64(f, 28, indexOff);
    f.writeUInt32LE(indexLen, 36);
    writeU64(f, 40, bloomOff);
    f.writeUInt32LE(bloomLen, 48);
    f.writeUInt32LE(crc32c(f.subarray(0, 52)), 52);
    out.length += FOOTER_SIZE;
    return this.#drain();
  }
}

function writeU64(b: Buffer, at: number, n: number): void {
  b.writeUInt32LE(n % 0x1_0000_0000, at);
  b.writeUInt32LE(Math.floor(n / 0x1_0000_0000), at + 4);
}

function readU64(b: Buffer, at: number): number {
  return b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 0x1_0000_0000;
}

/**
 * An open, verified SSTable. Everything a point read needs before its one block read stays resident:
 * the meta (key range), the bloom filter, the block index (typed arrays, see {@link BlockIndex}), the
 * table's slots in the block cache, and — when the file system offers `openReader` — one positional
 * reader opened at the first read and kept until the table is closed.
 */
export class SSTable implements SSTableMeta {
  readonly level: number;
  readonly number: number;
  readonly replaces: readonly FileId[];
  readonly entries: number;
  readonly minKey: Uint8Array;
  readonly maxKey: Uint8Array;
  readonly #index: BlockIndex;
  readonly #bloom: Uint8Array;
  /** Block cache entry per data block (−1: not cached); made on the first cached lookup. */
  #slots: CacheSlots | undefined;
  #cache: BlockCache | undefined;
  /** The positional reader, once open; {@link #opening} while it opens. */
  #reader: PositionalReader | undefined;
  #opening: Promise<PositionalReader> | undefined;
  #closed = false;

  private constructor(
    readonly fs: FileSystem,
    /** Root-relative key of the file. */
    readonly key: string,
    /** File size in bytes. */
    readonly size: number,
    parts: { meta: SSTableMeta; index: BlockIndex; bloom: Uint8Array },
  ) {
    this.level = parts.meta.level;
    this.number = parts.meta.number;
    this.replaces = parts.meta.replaces;
    this.entries = parts.meta.entries;
    this.minKey = parts.meta.minKey;
    this.maxKey = parts.meta.maxKey;
    this.#index = parts.index;
    this.#bloom = parts.bloom;
  }

  /**
   * Opens a table: reads its tail (footer, meta, index, bloom; one read for most files) and verifies
   * every checksum. `expect` is the level and number its name says; a file claiming otherwise is corrupt.
   * @throws LsmCorruptionError; FsError from the file system
   */
  static async open(fs: FileSystem, key: string, size: number, expect?: FileId): Promise<SSTable> {
    const corrupt = (kind: LsmCorruptionKind, detail: string, offset?: number) =>
      new LsmCorruptionError(kind, key, detail, {
        root: fs.root.url,
        ...(offset === undefined ? {} : { offset }),
      });
    const readExact = async (offset: number, length: number): Promise<Buffer> => {
      const buf = await fs.read(key, { offset, length });
      if (buf.length !== length)
        throw corrupt("Format", `short read at ${offset}: wanted ${length} bytes, got ${buf.length}`);
      return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    };
    if (size < FOOTER_SIZE)
      throw corrupt("Footer", `file is ${size} bytes, shorter than the ${FOOTER_SIZE}-byte footer`);
    const tailStart = Math.max(0, size - TAIL_READ);
    let tail = await readExact(tailStart, size - tailStart);
    let tailBase = tailStart;
    const f = tail.subarray(tail.length - FOOTER_SIZE);
    if (!f.subarray(0, 8).equals(SST_MAGIC)) throw corrupt("Footer", "bad magic", size - FOOTER_SIZE);
    if (crc32c(f.subarray(0, 52)) !== f.readUInt32LE(52))
      throw corrupt("Footer", "footer checksum mismatch", size - FOOTER_SIZE);
    const version = f.readUInt32LE(8);
    if (version !== SST_VERSION)
      throw corrupt("Footer", `unknown format version ${version}`, size - FOOTER_SIZE);
    const metaOff = readU64(f, 16);
    const metaLen = f.readUInt32LE(24);
    const indexOff = readU64(f, 28);
    const indexLen = f.readUInt32LE(36);
    const bloomOff = readU64(f, 40);
    const bloomLen = f.readUInt32LE(48);
    if (
      !(
        metaOff + metaLen + 4 === indexOff &&
        indexOff + indexLen + 4 === bloomOff &&
        bloomOff + bloomLen + 4 === size - FOOTER_SIZE
      )
    ) {
      throw corrupt("Footer", "block handles do not tile the file tail", size - FOOTER_SIZE);
    }
    if (metaOff < tailBase) {
      tail = await readExact(metaOff, size - metaOff);
      tailBase = metaOff;
    }
    const block = (off: number, len: number): Buffer => {
      const b = tail.subarray(off - tailBase, off - tailBase + len);
      if (crc32c(b) !== tail.readUInt32LE(off - tailBase + len))
        throw corrupt("BlockChecksum", "checksum mismatch", off);
      return b;
    };
    const metaBuf = block(metaOff, metaLen);
    const indexBuf = block(indexOff, indexLen);
    // Own copy: the tail buffer is not kept.
    const bloom = Uint8Array.prototype.slice.call(block(bloomOff, bloomLen));
    let meta: SSTableMeta;
    let index: BlockIndex;
    try {
      const r = new ByteReader(metaBuf);
      const level = r.varint();
      const number = r.varint();
      const entries = r.varint();
      const n = r.varint();
      const replaces: FileId[] = [];
      for (let i = 0; i < n; i++) replaces.push({ level: r.varint(), number: r.varint() });
      const minKey = Buffer.from(r.take(r.varint()));
      const maxKey = Buffer.from(r.take(r.varint()));
      meta = { level, number, entries, replaces, minKey, maxKey };
      index = BlockIndex.decode(indexBuf);
    } catch (err) {
      if (err instanceof RangeError)
        throw corrupt("Format", `meta or index block does not decode (${err.message})`);
      throw err;
    }
    if (expect && (expect.level !== meta.level || expect.number !== meta.number)) {
      throw corrupt(
        "Format",
        `file says it is level ${meta.level} number ${meta.number}, its name says level ${expect.level} number ${expect.number}`,
      );
    }
    return new SSTable(fs, key, size, { meta, index, bloom });
  }

  /** Data blocks in the file. */
  get blocks(): number {
    return this.#index.length;
  }

  /** Whether the bloom filter admits `hash` (the key's {@link hash32}). */
  mayContain(hash: number): boolean {
    return bloomMayContain(this.#bloom, hash);
  }

  /**
   * Looks a key up: `undefined` when the file has no entry for it, `null` for a tombstone, else a copy of
   * the value. `hash` is {@link hash32} of the key (computed once per lookup across tables). Key range and
   * bloom filter are checked first, then the resident index: no I/O unless the key may be here. Synchronous
   * when the block is cached; a promise when it has to be read (one read of the block, checksum verified,
   * then cached).
   */
  get(
    key: Uint8Array,
    hash: number,
    cache: BlockCache,
  ): Uint8Array | null | undefined | Promise<Uint8Array | null | undefined> {
    if (this.entries === 0 || compareBytes(key, this.minKey) < 0 || compareBytes(key, this.maxKey) > 0)
      return undefined;
    if (!bloomMayContain(this.#bloom, hash)) return undefined;
    const i = this.#index.find(key);
    if (i >= this.#index.length) return undefined;
    const slots = this.#slotsIn(cache);
    if (slots !== undefined) {
      const e = cache.lookup(slots, i);
      if (e >= 0) return this.#search(cache.ring, cache.start(e), cache.length(e), key, i);
    }
    // One `then` on the read itself (no async function around it): a miss costs the read's promise and this one.
    return this.#readAt(this.#index.offset[i] as number, (this.#index.size[i] as number) + 4).then((buf) => {
      const b = this.#verifyBlock(i, buf);
      if (slots !== undefined && this.#slots === slots) cache.insert(slots, i, b, 0, b.length);
      return this.#search(b, 0, b.length, key, i);
    });
  }

  /** The table's slots in `cache` (made on first use); `undefined` once the table is closed. */
  #slotsIn(cache: BlockCache): CacheSlots | undefined {
    if (this.#cache === cache) return this.#slots;
    if (this.#closed) return undefined;
    if (this.#cache !== undefined && this.#slots !== undefined) this.#cache.forget(this.#slots);
    this.#cache = cache;
    this.#slots = cache.slots(this.#index.length);
    return this.#slots;
  }

  /**
   * Reads `length` bytes at `offset`: through the table's positional reader when the file system offers
   * one (local disk: one pread on a descriptor opened at the first read and kept), else one ranged `read`.
   * Never throws: a file system that throws instead of rejecting gets its error as a rejection.
   */
  #readAt(offset: number, length: number): Promise<Uint8Array> {
    try {
      const r = this.#reader;
      if (r !== undefined) return r.read(offset, length);
      if (this.fs.openReader === undefined || this.#closed) return this.fs.read(this.key, { offset, length });
      return this.#openReader().then((reader) => reader.read(offset, length));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Opens the reader once (concurrent first reads share the open); a failed open is retried next time. */
  #openReader(): Promise<PositionalReader> {
    if (this.#opening !== undefined) return this.#opening;
    const opening = (this.fs.openReader as (key: string) => Promise<PositionalReader>).call(
      this.fs,
      this.key,
    );
    this.#opening = opening;
    return opening.then(
      (reader) => {
        if (!this.#closed) this.#reader = reader; // else close() closes it
        return reader;
      },
      (err) => {
        if (this.#opening === opening) this.#opening = undefined;
        throw err;
      },
    );
  }

  /**
   * Releases the table's reader and its block cache entries. Later reads fall back to ranged reads and
   * are not cached.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const reader = this.#reader;
    const opening = this.#opening;
    this.#reader = undefined;
    this.#opening = undefined;
    if (this.#cache !== undefined && this.#slots !== undefined) this.#cache.forget(this.#slots);
    this.#slots = undefined;
    if (reader !== undefined) await reader.close();
    else if (opening !== undefined) await (await opening.catch(() => undefined))?.close();
  }

  /** Verifies `buf`, the read of data block `i` with its CRC (length, then CRC); returns the block's bytes. */
  #verifyBlock(i: number, buf: Uint8Array): Buffer {
    const off = this.#index.offset[i] as number;
    const len = this.#index.size[i] as number;
    if (buf.length !== len + 4)
      throw new LsmCorruptionError(
        "Format",
        this.key,
        `short read at ${off}: wanted ${len + 4} bytes, got ${buf.length}`,
        { root: this.fs.root.url, offset: off },
      );
    const b = Buffer.from(buf.buffer, buf.byteOffset, len);
    if (crc32c(b) !== u32le(buf, len)) {
      throw new LsmCorruptionError("BlockChecksum", this.key, "data block checksum mismatch", {
        root: this.fs.root.url,
        offset: off,
      });
    }
    return b;
  }

  /** Searches a raw block at `b[base, base + len)`; the value is copied out. */
  #search(b: Buffer, base: number, len: number, key: Uint8Array, i: number): Uint8Array | null | undefined {
    let at: number;
    try {
      at = searchBlock(b, base, len, key);
    } catch (err) {
      if (err instanceof RangeError) {
        throw new LsmCorruptionError("Format", this.key, `data block does not decode (${err.message})`, {
          root: this.fs.root.url,
          offset: this.#index.offset[i] as number,
        });
      }
      throw err;
    }
    if (at === ABSENT) return undefined;
    if (at === TOMBSTONE) return null;
    return copyOut(b, at, foundLength);
  }

  /**
   * Verified raw data blocks (bytes without their CRC) from the first one that may hold `gte` to the
   * end, ascending. Reads about 1 MiB of consecutive blocks per request and verifies each block's CRC;
   * does not fill the block cache (a scan would flush it).
   */
  async *rawBlocksFrom(gte?: Uint8Array): AsyncGenerator<Buffer> {
    if (this.entries === 0) return;
    if (gte !== undefined && compareBytes(this.maxKey, gte) < 0) return;
    const { offset, size, length: n } = this.#index;
    let i = gte === undefined ? 0 : this.#index.find(gte);
    while (i < n) {
      let j = i + 1;
      const start = offset[i] as number;
      while (j < n && (offset[j] as number) + (size[j] as number) + 4 - start <= SCAN_READ) j++;
      const last = j - 1;
      const end = (offset[last] as number) + (size[last] as number) + 4;
      const read = await this.#readAt(start, end - start);
      if (read.length !== end - start)
        throw new LsmCorruptionError(
          "Format",
          this.key,
          `short read at ${start}: wanted ${end - start} bytes, got ${read.length}`,
          { root: this.fs.root.url, offset: start },
        );
      const buf = Buffer.from(read.buffer, read.byteOffset, read.byteLength);
      for (let blk = i; blk < j; blk++) {
        const off = offset[blk] as number;
        const len = size[blk] as number;
        const at = off - start;
        if (at + len + 4 > buf.length || crc32c(buf.subarray(at, at + len)) !== buf.readUInt32LE(at + len)) {
          throw new LsmCorruptionError("BlockChecksum", this.key, "data block checksum mismatch", {
            root: this.fs.root.url,
            offset: off,
          });
        }
        yield buf.subarray(at, at + len);
      }
      i = j;
    }
  }
}

/** Little-endian u32 at `at`. */
function u32le(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
    (b[at + 3] as number) * 0x100_0000
  );
}
