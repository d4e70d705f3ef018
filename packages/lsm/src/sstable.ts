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
import { bloomMayContain, buildBloom, hash32 } from "./bloom.js";
import { ByteReader, ByteWriter, compareBytes, compareRange } from "./bytes.js";
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
export function sstName(id: FileId): string {
  return `level-${id.level}/${String(id.number).padStart(8, "0")}.sst`;
}

const SST_NAME = /^level-(\d{1,3})\/(\d{1,15})\.sst$/;

/** Parses `level-<n>/<number>.sst` (relative to the collection directory). */
export function parseSstName(name: string): FileId | undefined {
  const m = SST_NAME.exec(name);
  if (!m) return undefined;
  return { level: Number(m[1]), number: Number(m[2]) };
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
 * An LRU cache of verified raw data blocks (block bytes without their CRC), shared by every table of an
 * engine and bounded by bytes. Raw blocks cost their size (about 4 KiB) instead of the ~1.5× a decoded
 * block costs in per-entry objects, so the same budget holds more of the data; a point lookup searches a
 * raw block through its restart points without decoding it. Keys are numbers (table id × 2²⁴ + block):
 * no string is built per lookup.
 */
export class BlockCache {
  readonly #map = new Map<number, Buffer>();
  #bytes = 0;
  /** @param capacity bytes the cache may hold (0 disables it) */
  constructor(readonly capacity: number) {}

  /** Bytes currently held (block sizes plus a fixed per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Blocks currently held. */
  get size(): number {
    return this.#map.size;
  }

  /** The block, marked most recently used; `undefined` when absent. */
  get(id: number): Buffer | undefined {
    const b = this.#map.get(id);
    if (b !== undefined) {
      this.#map.delete(id);
      this.#map.set(id, b);
    }
    return b;
  }

  /** Adds a block, evicting the least recently used ones beyond the capacity. */
  set(id: number, block: Buffer): void {
    const cost = block.length + BLOCK_OVERHEAD;
    if (this.capacity <= 0 || cost > this.capacity) return;
    const prev = this.#map.get(id);
    if (prev !== undefined) {
      this.#map.delete(id);
      this.#bytes -= prev.length + BLOCK_OVERHEAD;
    }
    this.#map.set(id, block);
    this.#bytes += cost;
    if (this.#bytes <= this.capacity) return;
    for (const [k, v] of this.#map) {
      this.#map.delete(k);
      this.#bytes -= v.length + BLOCK_OVERHEAD;
      if (this.#bytes <= this.capacity) break;
    }
  }
}

/** Bytes charged per cached block beyond its data (map entry and Buffer object). */
const BLOCK_OVERHEAD = 96;
/** Cache ids: table id × 2²⁴ + block index (a table of up to 16 M blocks, 64 GiB at 4 KiB). */
const BLOCKS_PER_TABLE = 2 ** 24;

let nextTableId = 1;

/** An open, verified SSTable: meta, index and bloom in memory; data blocks read (and cached) on demand. */
export class SSTable implements SSTableMeta {
  readonly level: number;
  readonly number: number;
  readonly replaces: readonly FileId[];
  readonly entries: number;
  readonly minKey: Uint8Array;
  readonly maxKey: Uint8Array;
  readonly #cacheBase = nextTableId++ * BLOCKS_PER_TABLE;
  readonly #lastKeys: Uint8Array[];
  readonly #offsets: number[];
  readonly #sizes: number[];
  readonly #bloom: Uint8Array;
  #reader: Promise<PositionalReader> | undefined;
  #closed = false;

  private constructor(
    readonly fs: FileSystem,
    /** Root-relative key of the file. */
    readonly key: string,
    /** File size in bytes. */
    readonly size: number,
    parts: {
      meta: SSTableMeta;
      lastKeys: Uint8Array[];
      offsets: number[];
      sizes: number[];
      bloom: Uint8Array;
    },
  ) {
    this.level = parts.meta.level;
    this.number = parts.meta.number;
    this.replaces = parts.meta.replaces;
    this.entries = parts.meta.entries;
    this.minKey = parts.meta.minKey;
    this.maxKey = parts.meta.maxKey;
    this.#lastKeys = parts.lastKeys;
    this.#offsets = parts.offsets;
    this.#sizes = parts.sizes;
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
    if (size < FOOTER_SIZE)
      throw corrupt("Footer", `file is ${size} bytes, shorter than the ${FOOTER_SIZE}-byte footer`);
    const tailStart = Math.max(0, size - TAIL_READ);
    let tail = Buffer.from(await readExact(fs, key, tailStart, size - tailStart, corrupt));
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
      tail = Buffer.from(await readExact(fs, key, metaOff, size - metaOff, corrupt));
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
    const bloom = Buffer.from(block(bloomOff, bloomLen));
    let meta: SSTableMeta;
    const lastKeys: Uint8Array[] = [];
    const offsets: number[] = [];
    const sizes: number[] = [];
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
      const ir = new ByteReader(indexBuf);
      while (ir.pos < ir.end) {
        lastKeys.push(Buffer.from(ir.take(ir.varint())));
        offsets.push(ir.varint());
        sizes.push(ir.varint());
      }
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
    return new SSTable(fs, key, size, { meta, lastKeys, offsets, sizes, bloom });
  }

  /** Data blocks in the file. */
  get blocks(): number {
    return this.#offsets.length;
  }

  /** Whether the bloom filter admits `hash` (the key's {@link hash32}). */
  mayContain(hash: number): boolean {
    return bloomMayContain(this.#bloom, hash);
  }

  /** Index of the first block whose last key is ≥ key (or `blocks` when none is). */
  #findBlock(key: Uint8Array): number {
    let lo = 0;
    let hi = this.#lastKeys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.#lastKeys[mid] as Uint8Array, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Looks a key up: `undefined` when the file has no entry for it, `null` for a tombstone, else the value
   * (a view into the cached block: copy it before handing it out). `hash` is {@link hash32} of the key
   * (computed once per lookup across tables). Synchronous when the block is cached; a promise when it
   * has to be read (one ranged read of the block, checksum verified, then cached).
   */
  get(
    key: Uint8Array,
    hash: number,
    cache: BlockCache,
  ): Uint8Array | null | undefined | Promise<Uint8Array | null | undefined> {
    if (this.entries === 0 || compareBytes(key, this.minKey) < 0 || compareBytes(key, this.maxKey) > 0)
      return undefined;
    if (!bloomMayContain(this.#bloom, hash)) return undefined;
    const i = this.#findBlock(key);
    if (i >= this.#offsets.length) return undefined;
    const id = this.#cacheBase + i;
    const block = cache.get(id);
    if (block !== undefined) return this.#search(block, key, i);
    return this.#readBlock(i).then((b) => {
      cache.set(id, b);
      return this.#search(b, key, i);
    });
  }

  /**
   * Reads `length` bytes at `offset`: through a positional reader kept open for the table's lifetime
   * when the file system offers one (`FileSystem.openReader`, local disk), else one ranged `read`.
   */
  async #readAt(offset: number, length: number): Promise<Uint8Array> {
    let buf: Uint8Array;
    if (this.fs.openReader && !this.#closed) {
      this.#reader ??= this.fs.openReader(this.key);
      const reader = this.#reader;
      buf = await reader.then(
        (r) => r.read(offset, length),
        (err) => {
          if (this.#reader === reader) this.#reader = undefined; // retried at the next read
          throw err;
        },
      );
    } else buf = await this.fs.read(this.key, { offset, length });
    if (buf.length !== length)
      throw new LsmCorruptionError(
        "Format",
        this.key,
        `short read at ${offset}: wanted ${length} bytes, got ${buf.length}`,
        { root: this.fs.root.url, offset },
      );
    return buf;
  }

  /** Releases the table's reader, if one was opened. Later reads fall back to ranged reads. */
  async close(): Promise<void> {
    this.#closed = true;
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader) await (await reader.catch(() => undefined))?.close();
  }

  /** Reads data block `i`, verifies its CRC and returns its bytes without the CRC. */
  async #readBlock(i: number): Promise<Buffer> {
    const off = this.#offsets[i] as number;
    const len = this.#sizes[i] as number;
    const buf = await this.#readAt(off, len + 4);
    let b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (crc32c(b.subarray(0, len)) !== b.readUInt32LE(len)) {
      throw new LsmCorruptionError("BlockChecksum", this.key, "data block checksum mismatch", {
        root: this.fs.root.url,
        offset: off,
      });
    }
    // A view into a larger buffer (an in-memory backend's file) would pin all of it in the cache.
    if (b.buffer.byteLength > len + 4 + 1024) b = Buffer.from(b.subarray(0, len));
    return b.subarray(0, len);
  }

  #search(block: Buffer, key: Uint8Array, i: number): Uint8Array | null | undefined {
    try {
      return searchBlock(block, block.length, key);
    } catch (err) {
      if (err instanceof RangeError) {
        throw new LsmCorruptionError("Format", this.key, `data block does not decode (${err.message})`, {
          root: this.fs.root.url,
          offset: this.#offsets[i] as number,
        });
      }
      throw err;
    }
  }

  /**
   * Verified raw data blocks (bytes without their CRC) from the first one that may hold `gte` to the
   * end, ascending. Reads about 1 MiB of consecutive blocks per request and verifies each block's CRC;
   * does not fill the block cache (a scan would flush it).
   */
  async *rawBlocksFrom(gte?: Uint8Array): AsyncGenerator<Buffer> {
    if (this.entries === 0) return;
    if (gte !== undefined && compareBytes(this.maxKey, gte) < 0) return;
    let i = gte === undefined ? 0 : this.#findBlock(gte);
    const n = this.#offsets.length;
    while (i < n) {
      let j = i + 1;
      const start = this.#offsets[i] as number;
      while (j < n && (this.#offsets[j] as number) + (this.#sizes[j] as number) + 4 - start <= SCAN_READ) j++;
      const last = j - 1;
      const end = (this.#offsets[last] as number) + (this.#sizes[last] as number) + 4;
      const read = await this.#readAt(start, end - start);
      const buf = Buffer.from(read.buffer, read.byteOffset, read.byteLength);
      for (let blk = i; blk < j; blk++) {
        const off = this.#offsets[blk] as number;
        const len = this.#sizes[blk] as number;
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

async function readExact(
  fs: FileSystem,
  key: string,
  offset: number,
  length: number,
  corrupt: (kind: LsmCorruptionKind, detail: string) => LsmCorruptionError,
): Promise<Uint8Array> {
  const buf = await fs.read(key, { offset, length });
  if (buf.length !== length)
    throw corrupt("Format", `short read at ${offset}: wanted ${length} bytes, got ${buf.length}`);
  return buf;
}

/** Little-endian u32 at `at` (no DataView per lookup). */
function u32le(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) +
    (b[at + 3] as number) * 0x100_0000
  );
}

let pos = 0;
/** Reads a LEB128 varint at {@link pos} (advancing it) without allocating; `RangeError` past `end`. */
function varintAt(b: Uint8Array, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= end) throw new RangeError("varint past end");
    const x = b[pos++] as number;
    result += (x & 0x7f) * mul;
    if (x < 0x80) return result;
    mul *= 128;
  }
  throw new RangeError("varint too long");
}

/** Holds the key being rebuilt while a block is searched (grown on demand; lookups are synchronous). */
let scratch = new Uint8Array(256);

/**
 * Finds `key` in a raw data block (`b[0, len)`, CRC already checked) without decoding it: a binary search
 * over the restart points (whose keys are stored whole), then a scan of at most one restart interval.
 * Returns the value (a view into `b`), `null` for a tombstone, `undefined` when absent.
 * Throws `RangeError` when the block is malformed.
 */
export function searchBlock(b: Uint8Array, len: number, key: Uint8Array): Uint8Array | null | undefined {
  if (len < 4) throw new RangeError("block shorter than its restart count");
  const nRestarts = u32le(b, len - 4);
  const dataEnd = len - 4 - nRestarts * 4;
  if (dataEnd < 0) throw new RangeError("restart array larger than the block");
  if (nRestarts === 0) return undefined;
  // Last restart point whose (whole) key is ≤ key.
  let lo = 0;
  let hi = nRestarts - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    pos = u32le(b, dataEnd + mid * 4);
    if (pos >= dataEnd) throw new RangeError("restart point past the entries");
    if (varintAt(b, dataEnd) !== 0) throw new RangeError("restart entry shares a prefix");
    const unshared = varintAt(b, dataEnd);
    varintAt(b, dataEnd);
    if (pos + unshared > dataEnd) throw new RangeError("key past end");
    if (compareRange(b, pos, unshared, key) <= 0) lo = mid;
    else hi = mid - 1;
  }
  pos = u32le(b, dataEnd + lo * 4);
  let keyLen = 0;
  while (pos < dataEnd) {
    const shared = varintAt(b, dataEnd);
    const unshared = varintAt(b, dataEnd);
    const vtag = varintAt(b, dataEnd);
    if (shared > keyLen) throw new RangeError("shared prefix longer than the previous key");
    if (pos + unshared > dataEnd) throw new RangeError("key past end");
    keyLen = shared + unshared;
    if (keyLen > scratch.length) {
      const grown = new Uint8Array(Math.max(keyLen, scratch.length * 2));
      grown.set(scratch.subarray(0, shared));
      scratch = grown;
    }
    for (let j = 0; j < unshared; j++) scratch[shared + j] = b[pos + j] as number;
    pos += unshared;
    const vlen = vtag === 0 ? 0 : vtag - 1;
    if (pos + vlen > dataEnd) throw new RangeError("value past end");
    const c = compareRange(scratch, 0, keyLen, key);
    if (c === 0) return vtag === 0 ? null : b.subarray(pos, pos + vlen);
    if (c > 0) return undefined;
    pos += vlen;
  }
  return undefined;
}
