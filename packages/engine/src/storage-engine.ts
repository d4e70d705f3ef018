import type {
  AssignmentService,
  CollectionId,
  ComponentType,
  FileSystem,
  StorageRoot,
} from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryEvent, DiscoveryReport } from "@proximadb/discovery";

/** Where one collection's component lives. */
export interface CollectionLocation {
  readonly collection: CollectionId;
  readonly component: ComponentType;
  /** Canonical URL of the root. */
  readonly url: string;
  /** Index of the root in the component's configured list. */
  readonly index: number;
  /** The root's file system. */
  readonly fs: FileSystem;
  /** The collection directory, root-relative: `"<id>/"`. */
  readonly dir: string;
}

/**
 * What every storage engine (wal, viper, lsm, index) presents. Each engine is opened by its own
 * `static open(options)`, whose options extend {@link EngineOpenOptions}.
 */
export interface StorageEngine {
  /** The component this engine stores. */
  readonly component: ComponentType;
  /**
   * The discovery report this engine's placement map was rebuilt from. At the `names` level (the default
   * of an engine that runs discovery itself, see {@link EngineOpenOptions.discoveryDetail}) collections
   * outside a conflict carry no `bytes`/`oldestMs`/`newestMs`.
   */
  readonly report: DiscoveryReport<DiscoveryDetail>;
  /** Collections this engine holds (discovered or placed since open). */
  collections(): CollectionId[];
  /**
   * Where a collection lives, WITHOUT placing it (undefined when it has no root in this component).
   * @throws InvalidCollectionIdError; ClosedError after close
   */
  locate(id: string): CollectionLocation | undefined;
  /**
   * Places the collection (assigning a root on first use, writing the root marker if needed) and
   * returns its location.
   * @throws InvalidCollectionIdError, NoEligibleRootError, RootOfflineError; ClosedError after close
   */
  place(id: string): Promise<CollectionLocation>;
  /** Deletes every file of the collection in this component and forgets its placement. */
  drop(id: string): Promise<void>;
  /**
   * From now on this engine writes collection `id` at writer epoch `epoch` (see the README's "Fencing"):
   * its files carry the epoch, and a durable marker says where the epoch starts, so whatever a writer of
   * a lower epoch (a stale owner) writes after this is never read. The same epoch again does nothing.
   * @throws InvalidArgumentError for an epoch that is not a positive safe integer; EngineError
   *   `StaleEpoch` when `epoch` is below the collection's current epoch (fenced here, or found on storage);
   *   nothing is changed then
   */
  fence(id: string, epoch: number): Promise<void>;
  /**
   * The writer epoch of `id`: the one fenced in this process, else the highest found in its files by this
   * engine so far (0: never fenced). No I/O.
   */
  epochOf(id: string): number;
  /**
   * Optional: forgets what the engine caches of one collection (open handles, file lists, memtables after
   * writing them to its files) without deleting anything or changing its placement, so the next access
   * opens it again from wherever {@link locate} then points. The mover calls it, with the collection's
   * writes fenced, before and after a move's commit.
   */
  release?(id: string): Promise<void>;
  /**
   * Optional: this node lost ownership of `id` (another node owns it now). Forgets what the engine holds
   * of it (unsaved or unflushed changes are dropped: they were a lost owner's, the new owner replays the
   * WAL) and its fence, and removes this node's staging of it (see `EngineBase.relinquish`). With
   * `requireFence`, nothing of it is modified again until it is fenced again.
   */
  relinquish?(id: string): Promise<void>;
  /** Finishes in-flight work and closes the roots' file systems. A second call does nothing. */
  close(): Promise<void>;
}

/**
 * Which roots may be written now. The node builds one from its deployment assessment and keeps it current
 * (a root that goes offline while the node runs stops being written at once).
 */
export interface RootAccess {
  /**
   * Why `url` must not be written now — one line naming its status and what was found there, e.g.
   * `"empty: the deployment knows this root but it is empty and unmarked (an unmounted disk?)"` — or
   * `undefined` when it may be written.
   */
  refusal(url: string): string | undefined;
}

/** What opening any engine takes (each engine's options extend this with its own). */
export interface EngineOpenOptions {
  /** The assignment service, configured with this component's roots. */
  service: AssignmentService;
  /** Opens the file system of one root; called once per root at open. The engine closes them on close. */
  openFileSystem: (root: StorageRoot) => FileSystem;
  /** This node's id, part of every staging name (`[A-Za-z0-9_-]`, 1–64 characters). Default: random. */
  nodeId?: string;
  /** Deployment name written into root markers and checked by discovery. */
  deployment?: string;
  /**
   * Which roots may be written (see {@link RootAccess}). When given, the engine never writes a root
   * marker (the deployment layer of `@proximadb/discovery` owns them) and every write path — placing a
   * collection, staging, committing, dropping, the engines' own appends and deletes — refuses a root it
   * names with core's `RootOfflineError`. When absent, a root the discovery report does not show `online`
   * is never written, and markers are ensured on first placement as before.
   */
  rootAccess?: RootAccess;
  /**
   * Staging files of OTHER nodes are removed at open only when older than this many milliseconds
   * (default one hour): another node sharing the root may still be writing them. This node's own
   * staging from previous runs is always removed.
   */
  staleStagingMs?: number;
  /**
   * A discovery report made earlier (the node runs discovery once for every engine): no second listing.
   * Either level; a `names` report gives the service no root usage (`LeastUsed` then counts collections).
   */
  report?: DiscoveryReport<DiscoveryDetail>;
  /**
   * What the engine's own discovery reads per data file when no `report` is given. Default: `names` (no
   * `stat` per file on local disk; conflicts still get their copies' sizes and times) unless the
   * component's placement strategy is not `RoundRobin` or `Hash` — `LeastUsed` (and any custom strategy)
   * may compare roots by bytes, so it gets `sizes`.
   */
  discoveryDetail?: DiscoveryDetail;
  /** Discovery progress events (only when the engine runs discovery itself). */
  onEvent?: (e: DiscoveryEvent) => void;
  /**
   * Create roots that do not exist yet and that no marker expects (a new deployment, or a root just added
   * to the config): each gets its identity marker at open and is online, empty. A missing root that a
   * sibling's marker lists (or `expectedMarkers` names) is never created: it may be an unmounted disk.
   * Default false: a missing root stays offline.
   * @deprecated A node initialises roots through the deployment layer of `@proximadb/discovery`
   * (`prepareDeployment`: every marker lists every root), which never re-creates a lost disk, and opens
   * its engines with {@link rootAccess}.
   */
  createMissingRoots?: boolean;
  /**
   * Cluster mode (see the README's "Fencing"): the engine modifies only collections fenced in this
   * process — no torn-tail truncation, garbage deletion, append, flush, compaction or checkpoint of any
   * other (those throw `EngineError` `NotFenced`); reads work. Staging files of other nodes are never
   * removed at open (their owners may be writing them); this node's own are. Default false: every
   * collection is written.
   */
  requireFence?: boolean;
  /** Clock (tests). */
  now?: () => number;
}
