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
import type { FileSystem } from "@proximadb/core";
import { bloomMayContain, buildBloom, hash32 } from "./bloom.js";
import { ByteReader, ByteWriter, compareBytes } from "./bytes.js";
import { LsmCorruptionError } from "./errors.js";

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
  #prev: Uint8Array = new Uint8Array(0);
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

  /** Adds one entry (`null` value = tombstone). Returns a chunk to write when 256 KiB are ready. */
  add(key: Uint8Array, value: Uint8Array | null): Uint8Array | undefined {
    if (this.#blockCount % RESTART_INTERVAL === 0) this.#restarts.push(this.#block.length);
    let shared = 0;
    if (this.#blockCount % RESTART_INTERVAL !== 0) {
      const max = Math.min(key.length, this.#prev.length);
      while (shared < max && key[shared] === this.#prev[shared]) shared++;
    }
    const b = this.#block;
    b.varint(shared);
    b.varint(key.length - shared);
    b.varint(value === null ? 0 : value.length + 1);
    b.bytes(key, shared);
    if (value !== null) b.bytes(value);
    if (this.#count === this.#hashes.length) {
      const grown = new Uint32Array(this.#hashes.length * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[this.#count++] = hash32(key);
    this.#blockCount++;
    this.#min ??= key;
    this.#prev = key;
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
    this.#index.varint(this.#prev.length);
    this.#index.bytes(this.#prev);
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
    out.varint(this.#prev.length);
    out.bytes(this.#prev);
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

/** A decoded data block: parallel arrays of keys and values (`null` = tombstone). */
export interface DecodedBlock {
  readonly keys: Uint8Array[];
  readonly values: (Uint8Array | null)[];
  readonly bytes: number;
}

/** An LRU cache of decoded data blocks, shared by every table of an engine. */
export class BlockCache {
  readonly #map = new Map<string, DecodedBlock>();
  #bytes = 0;
  constructor(readonly capacity: number) {}

  get(id: string): DecodedBlock | undefined {
    const b = this.#map.get(id);
    if (b) {
      this.#map.delete(id);
      this.#map.set(id, b);
    }
    return b;
  }

  set(id: string, block: DecodedBlock): void {
    if (this.capacity <= 0 || block.bytes > this.capacity) return;
    this.#map.set(id, block);
    this.#bytes += block.bytes;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.capacity) break;
      this.#map.delete(k);
      this.#bytes -= v.bytes;
    }
  }
}

let nextTableId = 1;

/** An open, verified SSTable: meta, index and bloom in memory; data blocks read (and cached) on demand. */
export class SSTable implements SSTableMeta {
  readonly level: number;
  readonly number: number;
  readonly replaces: readonly FileId[];
  readonly entries: number;
  readonly minKey: Uint8Array;
  readonly maxKey: Uint8Array;
  readonly #id = `${nextTableId++}:`;
  readonly #lastKeys: Uint8Array[];
  readonly #offsets: number[];
  readonly #sizes: number[];
  readonly #bloom: Uint8Array;

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
    const corrupt = (kind: "footer" | "block-checksum" | "format", detail: string, offset?: number) =>
      new LsmCorruptionError(kind, key, detail, {
        root: fs.root.url,
        ...(offset === undefined ? {} : { offset }),
      });
    if (size < FOOTER_SIZE)
      throw corrupt("footer", `file is ${size} bytes, shorter than the ${FOOTER_SIZE}-byte footer`);
    const tailStart = Math.max(0, size - TAIL_READ);
    let tail = Buffer.from(await readExact(fs, key, tailStart, size - tailStart, corrupt));
    let tailBase = tailStart;
    const f = tail.subarray(tail.length - FOOTER_SIZE);
    if (!f.subarray(0, 8).equals(SST_MAGIC)) throw corrupt("footer", "bad magic", size - FOOTER_SIZE);
    if (crc32c(f.subarray(0, 52)) !== f.readUInt32LE(52))
      throw corrupt("footer", "footer checksum mismatch", size - FOOTER_SIZE);
    const version = f.readUInt32LE(8);
    if (version !== SST_VERSION)
      throw corrupt("footer", `unknown format version ${version}`, size - FOOTER_SIZE);
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
      throw corrupt("footer", "block handles do not tile the file tail", size - FOOTER_SIZE);
    }
    if (metaOff < tailBase) {
      tail = Buffer.from(await readExact(fs, key, metaOff, size - metaOff, corrupt));
      tailBase = metaOff;
    }
    const block = (off: number, len: number): Buffer => {
      const b = tail.subarray(off - tailBase, off - tailBase + len);
      if (crc32c(b) !== tail.readUInt32LE(off - tailBase + len))
        throw corrupt("block-checksum", "checksum mismatch", off);
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
        throw corrupt("format", `meta or index block does not decode (${err.message})`);
      throw err;
    }
    if (expect && (expect.level !== meta.level || expect.number !== meta.number)) {
      throw corrupt(
        "format",
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
   * Looks a key up: `undefined` when the file has no entry for it, `null` for a tombstone, else the value.
   * `hash` is {@link hash32} of the key (computed once per lookup across tables).
   */
  async get(key: Uint8Array, hash: number, cache: BlockCache): Promise<Uint8Array | null | undefined> {
    if (this.entries === 0 || compareBytes(key, this.minKey) < 0 || compareBytes(key, this.maxKey) > 0)
      return undefined;
    if (!bloomMayContain(this.#bloom, hash)) return undefined;
    const i = this.#findBlock(key);
    if (i >= this.#offsets.length) return undefined;
    const cacheId = this.#id + i;
    let block = cache.get(cacheId);
    if (!block) {
      const off = this.#offsets[i] as number;
      const len = this.#sizes[i] as number;
      const buf = await readExact(
        this.fs,
        this.key,
        off,
        len + 4,
        (k, d) => new LsmCorruptionError(k, this.key, d, { root: this.fs.root.url, offset: off }),
      );
      block = this.#decode(buf, off, len);
      cache.set(cacheId, block);
    }
    let lo = 0;
    let hi = block.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(block.keys[mid] as Uint8Array, key);
      if (c === 0) return block.values[mid] as Uint8Array | null;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return undefined;
  }

  /** Verifies the trailer checksum of a data block (`buf` = block + CRC) and decodes it. */
  #decode(buf: Uint8Array, off: number, len: number): DecodedBlock {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.length !== len + 4 || crc32c(b.subarray(0, len)) !== b.readUInt32LE(len)) {
      throw new LsmCorruptionError("block-checksum", this.key, "data block checksum mismatch", {
        root: this.fs.root.url,
        offset: off,
      });
    }
    try {
      return decodeBlock(b, len);
    } catch (err) {
      if (err instanceof RangeError) {
        throw new LsmCorruptionError("format", this.key, `data block does not decode (${err.message})`, {
          root: this.fs.root.url,
          offset: off,
        });
      }
      throw err;
    }
  }

  /**
   * Decoded data blocks from the first one that may hold `gte` to the end, ascending. Reads about
   * 1 MiB of consecutive blocks per request and verifies each block; does not fill the block cache.
   */
  async *blocksFrom(gte?: Uint8Array): AsyncGenerator<DecodedBlock> {
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
      const buf = await readExact(
        this.fs,
        this.key,
        start,
        end - start,
        (k, d) => new LsmCorruptionError(k, this.key, d, { root: this.fs.root.url, offset: start }),
      );
      for (let b = i; b < j; b++) {
        const off = this.#offsets[b] as number;
        const len = this.#sizes[b] as number;
        yield this.#decode(buf.subarray(off - start, off - start + len + 4), off, len);
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
  corrupt: (kind: "footer" | "block-checksum" | "format", detail: string) => LsmCorruptionError,
): Promise<Uint8Array> {
  const buf = await fs.read(key, { offset, length });
  if (buf.length !== length)
    throw corrupt("format", `short read at ${offset}: wanted ${length} bytes, got ${buf.length}`);
  return buf;
}

/** Decodes a data block's entries (the CRC was checked by the caller). Throws `RangeError` when malformed. */
export function decodeBlock(b: Buffer, len: number): DecodedBlock {
  if (len < 4) throw new RangeError("block shorter than its restart count");
  const nRestarts = b.readUInt32LE(len - 4);
  const dataEnd = len - 4 - nRestarts * 4;
  if (dataEnd < 0) throw new RangeError("restart array larger than the block");
  const r = new ByteReader(b, 0, dataEnd);
  const keys: Uint8Array[] = [];
  const values: (Uint8Array | null)[] = [];
  let prev: Uint8Array = new Uint8Array(0);
  while (r.pos < dataEnd) {
    const shared = r.varint();
    const unshared = r.varint();
    const vtag = r.varint();
    if (shared > prev.length) throw new RangeError("shared prefix longer than the previous key");
    const delta = r.take(unshared);
    let key: Uint8Array;
    if (shared === 0) key = delta;
    else {
      key = new Uint8Array(shared + unshared);
      key.set(prev.subarray(0, shared));
      key.set(delta, shared);
    }
    keys.push(key);
    values.push(vtag === 0 ? null : r.take(vtag - 1));
    prev = key;
  }
  return { keys, values, bytes: len + 64 * keys.length };
}
