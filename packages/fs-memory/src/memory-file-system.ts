import {
  type FileSystemProvider,
  type FsCapabilities,
  InvalidArgumentError,
  type StorageRoot,
  assertKey,
  assertRootScheme,
  fsCapabilities,
} from "@proximadb/core";
import { type FsModule, LOCAL_CAPABILITIES, LocalFileSystem } from "@proximadb/fs-local";
import { Volume, createFsFromVolume } from "memfs";

let sharedVolume: Volume | undefined;

/** The process-wide volume used by {@link MemoryFileSystem}s opened without one. */
export function sharedMemoryVolume(): Volume {
  sharedVolume ??= new Volume();
  return sharedVolume;
}

const modules = new WeakMap<Volume, FsModule>();
function moduleOf(volume: Volume): FsModule {
  let m = modules.get(volume);
  if (!m) {
    m = createFsFromVolume(volume) as unknown as FsModule;
    modules.set(volume, m);
  }
  return m;
}

function parseMemRoot(root: StorageRoot | string): StorageRoot {
  return assertRootScheme(root, ["mem"], "MemoryFileSystem");
}

/** The local disk's capabilities, but `fsync: false`: nothing on a memfs volume survives the process. */
export const MEMORY_CAPABILITIES: FsCapabilities = fsCapabilities(LOCAL_CAPABILITIES, { fsync: false });

/** Options of {@link MemoryFileSystem}. */
export interface MemoryFileSystemOptions {
  /** The memfs volume holding the files. Default: one process-wide volume ({@link sharedMemoryVolume}). */
  readonly volume?: Volume;
}

/**
 * {@link LocalFileSystem} on a memfs volume, for `mem://` roots (tests and demos). `mem://disk1` is the
 * folder `/disk1` of the volume. Same semantics as the local adapter (atomic temp + rename writes,
 * `link`-based exclusive creates, object-store listing); `fsync` is reported `false` because nothing
 * survives the process anyway.
 *
 * @example
 * const fs = new MemoryFileSystem("mem://disk1");
 * await fs.write("orders/000001.avro", "hello");
 * new MemoryFileSystem("mem://disk1").read("orders/000001.avro"); // same process-wide volume
 */
export class MemoryFileSystem extends LocalFileSystem {
  /** The memfs volume the files live in. */
  readonly volume: Volume;

  /** @throws InvalidStorageUrlError for a root that is not `mem://` */
  constructor(root: StorageRoot | string, options: MemoryFileSystemOptions = {}) {
    const volume = options.volume ?? sharedMemoryVolume();
    super(parseMemRoot(root), { fs: moduleOf(volume), capabilities: MEMORY_CAPABILITIES });
    this.volume = volume;
  }
}

/** Opens {@link MemoryFileSystem}s for `mem://` roots on `volume` (default: the process-wide volume). */
export function memoryFileSystemProvider(volume?: Volume): FileSystemProvider {
  return Object.freeze({
    schemes: ["mem"] as const,
    open: (root: StorageRoot) => new MemoryFileSystem(root, { volume }),
  });
}

/** Content of one file in a {@link createMemoryRoots} tree. */
export type MemoryFileSpec =
  | string
  | Uint8Array
  | { readonly data: string | Uint8Array; readonly mtimeMs?: number };

/** What {@link createMemoryRoots} returns. */
export interface MemoryRoots {
  /** The volume holding every root. */
  readonly volume: Volume;
  /** The roots of the tree, in the tree's order. */
  readonly roots: StorageRoot[];
  /** One file system per root, by canonical URL. */
  readonly fileSystems: Map<string, MemoryFileSystem>;
  /** The file system of a root (any spelling of its URL); throws for a root not in the tree. */
  fs(url: string): MemoryFileSystem;
}

/**
 * The memfs harness: builds storage roots with files on a memfs volume (a fresh one unless given).
 * Every root named in the tree is created, even with an empty file map.
 *
 * @example
 * const { roots, fs } = createMemoryRoots({
 *   "mem://disk1": { "orders/000001.avro": "x", "_proximadb_root.json": '{"id":"…"}' },
 *   "mem://disk2": {},
 * });
 */
export function createMemoryRoots(
  tree: Record<string, Record<string, MemoryFileSpec>>,
  options: { volume?: Volume } = {},
): MemoryRoots {
  const volume = options.volume ?? new Volume();
  const roots: StorageRoot[] = [];
  const fileSystems = new Map<string, MemoryFileSystem>();
  for (const [url, files] of Object.entries(tree)) {
    const root = parseMemRoot(url);
    const base = root.path as string;
    volume.mkdirSync(base, { recursive: true });
    for (const [key, spec] of Object.entries(files)) {
      assertKey(key, { root: root.url });
      const path = `${base}/${key}`;
      volume.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
      const data = typeof spec === "string" || spec instanceof Uint8Array ? spec : spec.data;
      volume.writeFileSync(path, data);
      if (typeof spec === "object" && !(spec instanceof Uint8Array) && spec.mtimeMs !== undefined) {
        volume.utimesSync(path, spec.mtimeMs / 1000, spec.mtimeMs / 1000);
      }
    }
    roots.push(root);
    fileSystems.set(root.url, new MemoryFileSystem(root, { volume }));
  }
  return {
    volume,
    roots,
    fileSystems,
    fs(url: string): MemoryFileSystem {
      const found = fileSystems.get(parseMemRoot(url).url);
      if (!found) throw new InvalidArgumentError(`${url} is not a root of this memory harness`);
      return found;
    },
  };
}
