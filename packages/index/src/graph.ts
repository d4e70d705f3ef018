import { createReadStream } from "node:fs";
import { open, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { DataCorruptionError, type FileSystem } from "@proximadb/core";
import type { HierarchicalNSW as Hnsw } from "hnswlib-node";
import type { IndexSettings } from "./id-map.js";

// hnswlib-node is a CommonJS native addon whose exports ESM cannot name statically.
const { HierarchicalNSW } = createRequire(import.meta.url)("hnswlib-node") as typeof import("hnswlib-node");

/** Seed of the level generator: the same inserts in the same order give the same graph. */
const RANDOM_SEED = 100;
const MIN_CAPACITY = 1024;

/** What a saved `.hnsw` file is: its size and CRC-32 (recorded in the generation's `.idx`). */
export interface GraphFileDigest {
  readonly bytes: number;
  readonly crc32: number;
}

/**
 * One collection's HNSW graph (hnswlib through hnswlib-node). Labels are the numeric ids the id map hands
 * out (unsigned 32-bit); deleted labels stay in the graph (they keep it navigable) and are never returned.
 * The library saves and loads only through local file paths: {@link Graph.save} and {@link Graph.load} go
 * through a local temporary file and the collection root's {@link FileSystem}, so object-store roots work.
 */
export class Graph {
  readonly #index: Hnsw;

  private constructor(index: Hnsw) {
    this.#index = index;
  }

  /** An empty graph with room for `capacity` nodes before its first resize. */
  static create(settings: IndexSettings, capacity = MIN_CAPACITY): Graph {
    const index = new HierarchicalNSW(settings.metric, settings.dimension);
    index.initIndex({
      maxElements: Math.max(MIN_CAPACITY, capacity),
      m: settings.m,
      efConstruction: settings.efConstruction,
      randomSeed: RANDOM_SEED,
    });
    return new Graph(index);
  }

  /** Nodes in the graph, deleted ones included. */
  get size(): number {
    return this.#index.getCurrentCount();
  }

  /** Nodes the graph has memory for. */
  get capacity(): number {
    return this.#index.getMaxElements();
  }

  /** Inserts a vector (already checked and float32-rounded) under a new label, growing the graph as needed. */
  add(vector: number[], label: number): void {
    if (this.#index.getCurrentCount() >= this.#index.getMaxElements()) {
      this.#index.resizeIndex(Math.max(MIN_CAPACITY, this.#index.getMaxElements() * 2));
    }
    this.#index.addPoint(vector, label);
  }

  /** Marks a label deleted: it stays as a waypoint and is never returned. */
  markDeleted(label: number): void {
    this.#index.markDelete(label);
  }

  /** The stored vector of a label (normalised under `cosine`: the library stores unit vectors). */
  vector(label: number): number[] {
    return this.#index.getPoint(label);
  }

  /** The `k` nearest live labels with the library's raw distances, ascending, searching with `ef`. */
  search(query: number[], k: number, ef: number): { labels: number[]; distances: number[] } {
    if (this.#index.getCurrentCount() === 0) return { labels: [], distances: [] };
    const want = Math.min(k, this.#index.getMaxElements());
    this.#index.setEf(Math.max(ef, want));
    const r = this.#index.searchKnn(query, want);
    return { labels: r.neighbors, distances: r.distances };
  }

  /**
   * Saves the graph to `key` through `fs`: the library writes a local temporary file in `tmpDir`, which is
   * streamed to the adapter (with `durable: true`) and removed. Returns the file's size and CRC-32.
   */
  async save(fs: FileSystem, key: string, tmpDir: string): Promise<GraphFileDigest> {
    const tmp = join(tmpDir, `save-${randomBytes(8).toString("hex")}.hnsw`);
    try {
      await this.#index.writeIndex(tmp);
      let bytes = 0;
      let crc = 0;
      async function* chunks(): AsyncGenerator<Uint8Array> {
        for await (const chunk of createReadStream(tmp, { highWaterMark: 1 << 20 })) {
          const b = chunk as Buffer;
          bytes += b.length;
          crc = crc32(b, crc);
          yield b;
        }
      }
      await fs.writeStream(key, chunks(), { durable: true });
      return { bytes, crc32: crc };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Loads the graph saved at `key` through `fs`: streamed from the adapter into a local temporary file in
   * `tmpDir` (checked against the size and CRC-32 the id map recorded), read by the library, and removed.
   * @throws DataCorruptionError when the bytes are not the ones saved or the library rejects them
   */
  static async load(
    fs: FileSystem,
    key: string,
    expected: GraphFileDigest,
    settings: IndexSettings,
    tmpDir: string,
  ): Promise<Graph> {
    const tmp = join(tmpDir, `load-${randomBytes(8).toString("hex")}.hnsw`);
    const where = { key, root: fs.root.url };
    try {
      let bytes = 0;
      let crc = 0;
      const handle = await open(tmp, "w");
      try {
        for await (const chunk of fs.readStream(key)) {
          bytes += chunk.byteLength;
          crc = crc32(chunk, crc);
          await handle.write(chunk);
        }
      } finally {
        await handle.close();
      }
      if (bytes !== expected.bytes || crc !== expected.crc32) {
        throw new DataCorruptionError(
          `index graph ${key} is damaged: ${bytes} bytes with CRC-32 ${crc}, its id map says ${expected.bytes} bytes with ${expected.crc32}`,
          where,
        );
      }
      const index = new HierarchicalNSW(settings.metric, settings.dimension);
      try {
        await index.readIndex(tmp);
      } catch (cause) {
        throw new DataCorruptionError(`index graph ${key} is damaged: the library cannot read it`, {
          ...where,
          cause,
        });
      }
      return new Graph(index);
    } finally {
      await rm(tmp, { force: true });
    }
  }
}
