import {
  type CollectionId,
  type FileSystem,
  InvalidArgumentError,
  isFsError,
  listAll,
  readIfPresent,
} from "@proximadb/core";
import type { CollectionLocation } from "@proximadb/engine";
import { type CollectionDefinition, parseDefinition } from "./collection.js";
import type { ComponentStore } from "./engines/component-store.js";
import { NodeError } from "./errors.js";

/** One kind of document the catalog keeps per collection, under `<metadata root>/<id>/<file>`. */
interface CatalogDocument<T> {
  readonly file: string;
  /** Parses the stored text; throws a typed error naming `where` when it is not such a document. */
  parse(text: string, where: string): T;
  serialize(value: T): string;
}

const DEFINITION: CatalogDocument<CollectionDefinition> = {
  file: "collection.json",
  parse: parseDefinition,
  serialize: (d) => `${JSON.stringify(d, null, 2)}\n`,
};

/** A WAL checkpoint: the last sequence a flush wrote into the engine, and the writer epoch that wrote it. */
export interface WalCheckpoint {
  readonly walSequence: number;
  /** The WAL writer epoch of the flush (0: unfenced, or a document from before epochs). */
  readonly epoch: number;
}

const CHECKPOINT: CatalogDocument<WalCheckpoint> = {
  file: "wal-checkpoint.json",
  parse: (text) => {
    const v = JSON.parse(text) as { walSequence?: unknown; epoch?: unknown } | null;
    const walSequence = Number.isSafeInteger(v?.walSequence) ? (v?.walSequence as number) : 0;
    const epoch = Number.isSafeInteger(v?.epoch) && (v?.epoch as number) > 0 ? (v?.epoch as number) : 0;
    return { walSequence, epoch };
  },
  serialize: ({ walSequence, epoch }) => JSON.stringify(epoch > 0 ? { walSequence, epoch } : { walSequence }),
};

/** A drop's intent: written (durably) before anything of the collection is deleted, removed last. */
export interface DropTombstone {
  readonly format: 1;
  /** ISO-8601 time the drop was asked for. */
  readonly droppedAt: string;
  /** The definition's placements when the drop started (for operators). */
  readonly placements?: CollectionDefinition["placements"];
}

const TOMBSTONE: CatalogDocument<DropTombstone> = {
  file: "dropping.json",
  parse: (text, where) => {
    let v: Partial<DropTombstone> | null = null;
    try {
      v = JSON.parse(text) as Partial<DropTombstone> | null;
    } catch {
      // below
    }
    if (v?.format !== 1 || typeof v.droppedAt !== "string")
      throw new InvalidArgumentError(`${where} is not a format-1 drop tombstone`);
    return v as DropTombstone;
  },
  serialize: (t) => `${JSON.stringify(t)}\n`,
};

/** File names of the catalog's documents (for tests and operators; only the catalog builds their keys). */
export const CATALOG_FILES = {
  definition: DEFINITION.file,
  checkpoint: CHECKPOINT.file,
  tombstone: TOMBSTONE.file,
} as const;

const decoder = new TextDecoder();
const JSON_WRITE = { durable: true, contentType: "application/json" } as const;

/**
 * The node's per-collection documents in the metadata component: the definition (written once, with an
 * exclusive create: the commit point of a creation) and the WAL checkpoint (the last WAL sequence a flush
 * wrote into the engine), and a drop's tombstone (its intent, while the drop runs). The only code that
 * knows their file names. Each document is a {@link CatalogDocument}; owners join as one more, with
 * their own methods here.
 */
export class CollectionCatalog {
  readonly #metadata: ComponentStore;

  constructor(metadata: ComponentStore) {
    this.#metadata = metadata;
  }

  /** Collections the metadata listing shows (with or without a readable definition). */
  listed(): CollectionId[] {
    return this.#metadata.collections();
  }

  /** True when the collection has a metadata directory. */
  has(id: string): boolean {
    return this.#metadata.locate(id) !== undefined;
  }

  /**
   * Writes a new collection's definition (placing its metadata directory first).
   * @throws NodeError `AlreadyExists` when a definition is already there
   */
  async create(definition: CollectionDefinition): Promise<void> {
    const loc = await this.#metadata.place(definition.id);
    try {
      await this.#write(loc, DEFINITION, definition, { exclusive: true });
    } catch (err) {
      if (isFsError(err, "AlreadyExists"))
        throw new NodeError("AlreadyExists", `collection ${definition.id} already exists`);
      throw err;
    }
  }

  /**
   * The stored definition, or undefined when the collection has no metadata directory or no definition.
   * @throws InvalidArgumentError when the stored file is not a definition; FsError on storage failures
   */
  async definition(id: string): Promise<CollectionDefinition | undefined> {
    const loc = this.#metadata.locate(id);
    return loc ? this.#read(loc, DEFINITION) : undefined;
  }

  /**
   * The WAL sequence up to which the engine's files hold the collection (0 when no flush recorded one).
   * @throws when the checkpoint is there but unreadable (the caller replays everything)
   */
  async checkpoint(id: string): Promise<number> {
    return (await this.checkpointAt(id)).walSequence;
  }

  /**
   * The stored checkpoint with its writer epoch ({ walSequence: 0, epoch: 0 } when none).
   * @throws when the checkpoint is there but unreadable (the caller replays everything)
   */
  async checkpointAt(id: string): Promise<WalCheckpoint> {
    const loc = this.#metadata.locate(id);
    return (loc && (await this.#read(loc, CHECKPOINT))) ?? { walSequence: 0, epoch: 0 };
  }

  /**
   * Records that the engine's files hold the collection up to WAL sequence `sequence`, written by a WAL
   * writer of epoch `epoch` (recovery caps it at the start of any higher epoch).
   */
  async setCheckpoint(id: CollectionId, sequence: number, epoch = 0): Promise<void> {
    await this.#write(await this.#metadata.place(id), CHECKPOINT, { walSequence: sequence, epoch });
  }

  /** Deletes every document of the collection and forgets its metadata placement (no drop protocol). */
  async drop(id: CollectionId): Promise<void> {
    await this.#metadata.drop(id);
  }

  /**
   * The collection's drop tombstone, or undefined when no drop is under way.
   * @throws InvalidArgumentError when the stored file is not a tombstone; FsError on storage failures
   */
  async tombstone(id: string): Promise<DropTombstone | undefined> {
    const loc = this.#metadata.locate(id);
    return loc ? this.#read(loc, TOMBSTONE) : undefined;
  }

  /** Writes the drop's intent, durably, before anything of the collection is deleted (first step of a drop). */
  async markDropping(id: CollectionId, tombstone: DropTombstone): Promise<void> {
    await this.#write(await this.#metadata.place(id), TOMBSTONE, tombstone);
  }

  /**
   * The last steps of a drop, once every other component is deleted: every document but the tombstone
   * (the definition among them), durably, then the tombstone, then the metadata placement. A crash in
   * between leaves the tombstone, and the drop resumes at the next start.
   */
  async finishDrop(id: CollectionId): Promise<void> {
    const loc = this.#metadata.locate(id);
    if (loc) {
      const tombstone = `${loc.dir}${TOMBSTONE.file}`;
      const rest = (await listAll(loc.fs, loc.dir)).files.map((f) => f.key).filter((k) => k !== tombstone);
      if (rest.length > 0) await loc.fs.deleteMany(rest, { durable: true });
      await loc.fs.delete(tombstone, { durable: true });
    }
    await this.#metadata.drop(id);
  }

  async #read<T>(loc: CollectionLocation, doc: CatalogDocument<T>): Promise<T | undefined> {
    return readDocument(loc.fs, `${loc.dir}${doc.file}`, `${loc.url}/${loc.dir}${doc.file}`, doc);
  }

  async #write<T>(
    loc: CollectionLocation,
    doc: CatalogDocument<T>,
    value: T,
    options: { exclusive?: boolean } = {},
  ): Promise<void> {
    await loc.fs.write(`${loc.dir}${doc.file}`, doc.serialize(value), { ...JSON_WRITE, ...options });
  }
}

async function readDocument<T>(
  fs: FileSystem,
  key: string,
  where: string,
  doc: CatalogDocument<T>,
): Promise<T | undefined> {
  const bytes = await readIfPresent(fs, key);
  return bytes === undefined ? undefined : doc.parse(decoder.decode(bytes), where);
}

/**
 * The definition of `collection` in a metadata root opened directly (the read-only CLI, which opens no
 * engine), or undefined when there is none.
 */
export function readDefinitionAt(
  fs: FileSystem,
  collection: string,
): Promise<CollectionDefinition | undefined> {
  const key = `${collection}/${DEFINITION.file}`;
  return readDocument(fs, key, `${fs.root.url}/${key}`, DEFINITION);
}
