import { randomBytes } from "node:crypto";
import {
  type AssignmentService,
  ClosedError,
  type CollectionId,
  type ComponentType,
  type FileSystem,
  InvalidArgumentError,
  RootOfflineError,
  STAGING_DIR,
  assertKey,
  isFsError,
  isReservedName,
  parseCollectionId,
  parseComponentType,
} from "@proximadb/core";
import {
  type DiscoveryDetail,
  type DiscoveryReport,
  discover,
  ensureRootMarker,
  isNewRoot,
  recordInto,
} from "@proximadb/discovery";
import { assertEpoch } from "./epochs.js";
import { EngineError } from "./errors.js";
import {
  NODE_ID,
  type StagingCleanup,
  StagingSequence,
  WriterHeartbeat,
  assertStagedName,
  cleanStaging,
  removeStaging,
  stagingKey,
} from "./staging.js";
import type { CollectionLocation, EngineOpenOptions, RootAccess, StorageEngine } from "./storage-engine.js";

export type { StagingCleanup } from "./staging.js";

/** Options of {@link EngineBase.open}: the shared engine options plus the component. */
export interface EngineBaseOptions extends EngineOpenOptions {
  /** The component this engine stores (`wal`, `viper`, `lsm`, …). */
  component: ComponentType;
}

declare const stagedBrand: unique symbol;

/**
 * A file being written under `<id>/_staging/`, to be committed by {@link EngineBase.commit}. Only
 * {@link EngineBase.stage} makes one: `commit` refuses a hand-made or copied object (`EngineError`
 * `ForeignCollection`).
 */
export interface StagedFile {
  readonly [stagedBrand]: true;
  readonly collection: CollectionId;
  /** Canonical URL of the root the staged file lives in. */
  readonly url: string;
  /** The root's file system: write the staged file through it. */
  readonly fs: FileSystem;
  /** Root-relative key: `"<id>/_staging/<nodeId>/<sequence>-<name>"` (see `STAGING_LAYOUT`). */
  readonly key: string;
}

const DEFAULT_STALE_MS = 60 * 60 * 1000;

/**
 * The engine base: what every storage engine (WAL, VIPER, LSM) shares. It keeps the placement map of
 * one component, resolves a collection's directory in its assigned root (assigning on first use),
 * stages in-flight output under `<id>/_staging/` in that same root and commits it by one same-root
 * move, and cleans stale staging at open.
 *
 * It presents the {@link StorageEngine} shape itself: an engine built on it keeps it private and
 * forwards `component`, `report`, `collections`, `locate`, `place`, `drop` and `close`.
 *
 * @example
 * const engine = await EngineBase.open({ component: "viper", service, openFileSystem: (r) => new LocalFileSystem(r) });
 * const staged = await engine.stage("orders", "part.parquet");
 * await staged.fs.write(staged.key, bytes, { durable: true });
 * await engine.commit(staged, "vectors/part-00000001.parquet"); // "orders/vectors/part-00000001.parquet"
 */
export class EngineBase implements StorageEngine {
  /** The component this engine stores. */
  readonly component: ComponentType;
  /** The discovery report the placement map was rebuilt from (`names` level unless sizes decide something). */
  readonly report: DiscoveryReport<DiscoveryDetail>;
  /** This node's id (in staging names). */
  readonly nodeId: string;
  /** What open did with stale staging. */
  readonly cleanup: StagingCleanup;
  /** Roots the discovery found offline (their collections are not re-placed). */
  readonly offlineRoots: readonly string[];

  readonly #service: AssignmentService;
  readonly #fileSystems: ReadonlyMap<string, FileSystem>;
  readonly #markers = new Map<string, Promise<unknown>>();
  readonly #marked = new Set<string>();
  /** Staged files this engine handed out and that are not committed yet (see {@link StagedFile}). */
  readonly #issued = new WeakSet<StagedFile>();
  readonly #deployment: string | undefined;
  readonly #now: () => number;
  /** Which roots may be written; `managed` when the deployment layer owns the markers. */
  readonly #access: RootAccess;
  readonly #markersManaged: boolean;
  readonly #sequence: StagingSequence;
  readonly #heartbeat: WriterHeartbeat;
  /** Cluster mode: only fenced collections are modified (see {@link EngineOpenOptions.requireFence}). */
  readonly requireFence: boolean;
  /** Epochs fenced in this process, per collection. */
  readonly #fenced = new Map<CollectionId, number>();
  /** The highest epoch the engine found on storage, per collection. */
  readonly #found = new Map<CollectionId, number>();
  /** Fenced collections whose other writers' staging is not removed yet (a removal failed). */
  readonly #unswept = new Set<CollectionId>();
  #closed = false;

  private constructor(init: {
    component: ComponentType;
    report: DiscoveryReport<DiscoveryDetail>;
    nodeId: string;
    cleanup: StagingCleanup;
    offlineRoots: readonly string[];
    service: AssignmentService;
    fileSystems: ReadonlyMap<string, FileSystem>;
    deployment: string | undefined;
    now: () => number;
    access: RootAccess | undefined;
    sequence: StagingSequence;
    heartbeat: WriterHeartbeat;
    requireFence: boolean;
  }) {
    this.requireFence = init.requireFence;
    this.component = init.component;
    this.report = init.report;
    this.nodeId = init.nodeId;
    this.cleanup = init.cleanup;
    this.offlineRoots = init.offlineRoots;
    this.#service = init.service;
    this.#fileSystems = init.fileSystems;
    this.#deployment = init.deployment;
    this.#now = init.now;
    this.#markersManaged = init.access !== undefined;
    this.#access = init.access ?? reportAccess(init.report);
    this.#sequence = init.sequence;
    this.#heartbeat = init.heartbeat;
  }

  /**
   * Opens the engine base: runs discovery over the component's roots (unless `report` is given),
   * records what it found into the assignment service, and removes stale staging (found in the
   * report's ignored entries: no second listing).
   * @throws InvalidArgumentError for a bad `nodeId` or `staleStagingMs`; InvalidComponentError; EmptyRootListError
   */
  static async open(options: EngineBaseOptions): Promise<EngineBase> {
    const component = parseComponentType(options.component);
    const nodeId = options.nodeId ?? randomBytes(6).toString("hex");
    if (!NODE_ID.test(nodeId)) {
      throw new InvalidArgumentError(
        `nodeId must be 1-64 characters from [A-Za-z0-9_-] (got ${JSON.stringify(nodeId)})`,
      );
    }
    const staleMs = options.staleStagingMs ?? DEFAULT_STALE_MS;
    if (!(staleMs >= 0 && Number.isFinite(staleMs))) {
      throw new InvalidArgumentError(`staleStagingMs must be a non-negative number (got ${staleMs})`);
    }
    const now = options.now ?? Date.now;
    const roots = options.service.roots(component);
    const fileSystems = new Map<string, FileSystem>();
    for (const root of roots) fileSystems.set(root.url, options.openFileSystem(root));
    try {
      let report =
        options.report ??
        (await discover({
          component,
          detail: options.discoveryDetail ?? discoveryDetailFor(options.service, component),
          roots: [...fileSystems.values()],
          ...(options.deployment === undefined ? {} : { deployment: options.deployment }),
          ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
        }));
      if (options.createMissingRoots) {
        report = await createAbsentRoots(report, fileSystems, component, options.deployment);
      }
      const { offlineRoots } = await recordInto(options.service, report);
      const sequence = new StagingSequence(now());
      const cleanup = await cleanStaging({
        report,
        fileSystems,
        nodeId,
        // Cluster mode: another writer's staging belongs to its owner (only this node's own is removed).
        staleMs: options.requireFence ? Number.POSITIVE_INFINITY : staleMs,
        nowMs: now(),
        observeOwn: (seen) => sequence.observe(seen),
      });
      return new EngineBase({
        component,
        report,
        nodeId,
        cleanup,
        offlineRoots,
        service: options.service,
        fileSystems,
        deployment: options.deployment,
        now,
        access: options.rootAccess,
        sequence,
        heartbeat: new WriterHeartbeat(nodeId, Math.max(1000, staleMs / 4)),
        requireFence: options.requireFence === true,
      });
    } catch (err) {
      await Promise.allSettled([...fileSystems.values()].map((fs) => fs.close()));
      throw err;
    }
  }

  /** The file systems of this component's roots, by canonical URL. */
  get fileSystems(): ReadonlyMap<string, FileSystem> {
    return this.#fileSystems;
  }

  /** Collections assigned in this component. */
  collections(): CollectionId[] {
    this.#assertOpen();
    return this.#service.list(this.component).map((a) => a.collection);
  }

  /**
   * Where a collection lives, without assigning it.
   * @throws InvalidCollectionIdError
   */
  locate(id: string): CollectionLocation | undefined {
    this.#assertOpen();
    const collection = parseCollectionId(id);
    const a = this.#service.get(collection, this.component);
    return a === undefined ? undefined : this.#location(collection, a.url);
  }

  /**
   * Places the collection: its directory in its root, assigning a root on first use. Without
   * `rootAccess`, the first time a root is written through this engine its identity marker is ensured.
   * @throws InvalidCollectionIdError, NoEligibleRootError, RootOfflineError (also when the root is not
   *   writable now); ClosedError after close
   */
  async place(id: string): Promise<CollectionLocation> {
    this.#assertOpen();
    const collection = parseCollectionId(id);
    const a = await this.#service.assign(collection, this.component);
    const location = this.#location(collection, a.url);
    this.assertWritable(location);
    if (!this.#markersManaged) await this.#ensureMarker(location.url, location.fs);
    return location;
  }

  /**
   * Throws unless the location's root may be written now (see `rootAccess`): every write path calls it
   * before it touches a root, and an engine that writes through a location it holds (a WAL append to an
   * open segment, a delete of garbage) calls it too.
   * @throws RootOfflineError naming the root and why it is not writable
   */
  assertWritable(location: { readonly collection: string; readonly url: string }): void {
    const why = this.#access.refusal(location.url);
    if (why !== undefined) throw new RootOfflineError(location.collection, this.component, location.url, why);
  }

  /**
   * A unique staging key for `name` under the collection's own directory in its own root:
   * `"<id>/_staging/<nodeId>/<sequence>-<name>"` (the layout `parseStagingKey` reads). Nothing is
   * written yet but this node's heartbeat in that root (see `WriterHeartbeat`).
   * @throws InvalidCollectionIdError; InvalidArgumentError for a name that is not one plain file name
   *   of at most 120 characters
   */
  async stage(id: string, name: string): Promise<StagedFile> {
    assertStagedName(name);
    const location = await this.place(id);
    await this.#heartbeat.ensure(location.fs);
    const staged = Object.freeze({
      collection: location.collection,
      url: location.url,
      fs: location.fs,
      key: stagingKey(location.dir, this.nodeId, this.#sequence.next(), name),
    }) as StagedFile;
    this.#issued.add(staged);
    return staged;
  }

  /**
   * Commits a staged file by one move inside its root (a rename on disk, a server-side move on object
   * stores) to `<id>/<finalName>`. Overwrites an existing final file unless `overwrite: false`
   * (then `FsError` `AlreadyExists`). Returns the final key. A staged file commits once.
   * @throws EngineError `ForeignCollection` (not made by this engine's {@link stage}, or committed
   *   already), `NotAssigned` (the collection was dropped), `CrossRoot` (it was placed in another root
   *   since), `EscapesCollection`, `IntoStaging`; ClosedError after close
   */
  async commit(
    staged: StagedFile,
    finalName: string,
    options: { overwrite?: boolean } = {},
  ): Promise<string> {
    this.#assertOpen();
    if (!this.#issued.has(staged)) {
      throw new EngineError(
        "ForeignCollection",
        `staged file ${JSON.stringify(staged?.key)} was not made by stage() of this ${this.component} engine, or is committed already`,
        typeof staged?.collection === "string" ? { collection: staged.collection } : {},
      );
    }
    const collection = staged.collection;
    const location = this.locate(collection);
    if (!location) {
      throw new EngineError(
        "NotAssigned",
        `collection ${collection} has no ${this.component} root (dropped?)`,
        { collection },
      );
    }
    if (staged.url !== location.url || staged.fs !== location.fs) {
      throw new EngineError(
        "CrossRoot",
        `staged file of ${collection} is in ${staged.url}, but the collection's ${this.component} root is ${location.url}; a commit never crosses roots`,
        { collection },
      );
    }
    const finalKey = this.#finalKey(collection, location.dir, finalName);
    this.assertWritable(location);
    try {
      await location.fs.move(staged.key, finalKey, { overwrite: options.overwrite ?? true });
    } catch (err) {
      // A running writer's staged file is removed only by a new owner's fence (or by this writer's own
      // `relinquish`): it is fenced out, and says so (nothing was committed).
      if (isFsError(err, "NotFound") && (this.requireFence || this.#fenced.has(collection))) {
        if (!(await location.fs.exists(staged.key).catch(() => true))) {
          this.#issued.delete(staged);
          throw new EngineError(
            "StaleEpoch",
            `staged file ${staged.key} of ${collection} was removed: another owner fenced the collection, or this node lost it (fenced out, nothing committed)`,
            { collection },
          );
        }
      }
      throw err;
    }
    this.#issued.delete(staged);
    return finalKey;
  }

  /**
   * Deletes every file of the collection in this component (`deletePrefix("<id>/")`, durably) and then
   * its assignment. Dropping an unassigned collection does nothing.
   * @throws InvalidCollectionIdError; RootOfflineError when its root is not writable (nothing is deleted)
   */
  async drop(id: string): Promise<void> {
    const location = this.locate(id);
    if (!location) return;
    this.assertWritable(location);
    await location.fs.deletePrefix(location.dir, { durable: true });
    await this.#service.remove(location.collection, this.component);
    this.#found.delete(location.collection);
  }

  /**
   * Records a fence: from now on the collection is written at `epoch` (the engines write the files and
   * markers; the base keeps the number). Every other writer's staging of the collection
   * (`<id>/_staging/<other>/…`, and files outside an owner folder) is then removed, durably: this node
   * holds the owner key now, so that writer no longer does and whatever it commits later is fenced out by
   * epoch anyway; its late commit fails with `StaleEpoch` (see {@link commit}). This node's own staging
   * stays (its flushes at the old epoch may be in flight). The same epoch again does nothing.
   * @throws InvalidArgumentError for an epoch that is not a positive safe integer; EngineError `StaleEpoch`
   *   when `epoch` is below the epoch fenced here or found on storage (see {@link observeEpoch});
   *   RootOfflineError or FsError when the staging cannot be removed (the fence is recorded; the next
   *   fence at a higher epoch, or the same call again, removes it)
   */
  async fence(id: string, epoch: number): Promise<void> {
    this.#assertOpen();
    const collection = parseCollectionId(id);
    assertEpoch(epoch);
    const current = Math.max(this.#fenced.get(collection) ?? 0, this.#found.get(collection) ?? 0);
    if (epoch < current) {
      throw new EngineError(
        "StaleEpoch",
        `cannot fence ${this.component} of ${collection} at epoch ${epoch}: epoch ${current} is current`,
        { collection },
      );
    }
    const again = this.#fenced.get(collection) === epoch && !this.#unswept.has(collection);
    this.#fenced.set(collection, epoch);
    if (again) return;
    this.#unswept.add(collection);
    await this.#removeStaging(collection, (owner) => owner !== this.nodeId);
    this.#unswept.delete(collection);
  }

  /**
   * This node learned it lost the collection (another node owns it now): forgets the fence here (with
   * `requireFence` nothing of it is modified until it is fenced again; the epoch stays the floor of any
   * later fence) and removes this node's own staging of it, durably (an in-flight commit then fails with
   * `StaleEpoch`). Nothing happens for a collection without a root here.
   * @throws RootOfflineError or FsError when the staging cannot be removed (the fence is forgotten)
   */
  async relinquish(id: string): Promise<void> {
    this.#assertOpen();
    const collection = parseCollectionId(id);
    const fenced = this.#fenced.get(collection);
    if (fenced !== undefined) this.observeEpoch(collection, fenced);
    this.#fenced.delete(collection);
    this.#unswept.delete(collection);
    await this.#removeStaging(collection, (owner) => owner === this.nodeId);
  }

  async #removeStaging(collection: CollectionId, doomed: (owner: string | undefined) => boolean) {
    const location = this.locate(collection);
    if (!location) return [];
    this.assertWritable(location);
    return removeStaging(location.fs, location.dir, doomed);
  }

  /** The epoch fenced in this process for `id`, else the highest found on storage, else 0. */
  epochOf(id: string): number {
    const collection = parseCollectionId(id);
    return this.#fenced.get(collection) ?? this.#found.get(collection) ?? 0;
  }

  /** True when `id` was fenced in this process. */
  isFenced(id: CollectionId): boolean {
    return this.#fenced.has(id);
  }

  /** Engines report the highest epoch a listing of the collection showed (raises only). */
  observeEpoch(id: CollectionId, epoch: number): void {
    if (epoch > (this.#found.get(id) ?? 0)) this.#found.set(id, epoch);
  }

  /** False when the engine runs with `requireFence` and `id` was not fenced in this process. */
  mayModify(id: CollectionId): boolean {
    return !this.requireFence || this.#fenced.has(id);
  }

  /**
   * Throws unless the collection may be modified by this engine (see `requireFence`).
   * @throws EngineError `NotFenced`
   */
  assertMayModify(id: CollectionId): void {
    if (!this.mayModify(id)) {
      throw new EngineError(
        "NotFenced",
        `the ${this.component} engine runs with requireFence and ${id} was not fenced by this node`,
        { collection: id },
      );
    }
  }

  /**
   * Throws when storage shows an epoch above the one this engine writes `id` at (it was fenced out).
   * @throws EngineError `StaleEpoch`
   */
  assertNotFencedOut(id: CollectionId, highestOnStorage: number): void {
    this.observeEpoch(id, highestOnStorage);
    const own = this.epochOf(id);
    if (highestOnStorage > own) {
      throw new EngineError(
        "StaleEpoch",
        `${this.component} of ${id} is written at epoch ${highestOnStorage} now; this writer is at epoch ${own} (fenced out)`,
        { collection: id },
      );
    }
  }

  /** Closes the roots' file systems. The assignment service is the caller's and stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#heartbeat.close();
    await Promise.allSettled([...this.#fileSystems.values()].map((fs) => fs.close()));
  }

  #finalKey(collection: CollectionId, dir: string, finalName: string): string {
    const escapes = (why: string) =>
      new EngineError("EscapesCollection", `final name ${JSON.stringify(finalName)} ${why}`, { collection });
    if (typeof finalName !== "string" || finalName === "") throw escapes("is empty");
    if (finalName.endsWith("/")) throw escapes("names a folder, not a file");
    try {
      assertKey(finalName);
    } catch (err) {
      if (isFsError(err, "InvalidKey")) throw escapes("would leave the collection directory");
      throw err;
    }
    const segments = finalName.split("/");
    if (segments.some((s) => isReservedName(s))) {
      throw new EngineError(
        "IntoStaging",
        `final name ${JSON.stringify(finalName)} points into a reserved name (${STAGING_DIR}/, '_' or '.' prefixes)`,
        { collection },
      );
    }
    return `${dir}${finalName}`;
  }

  #location(collection: CollectionId, url: string): CollectionLocation {
    const fs = this.#fileSystems.get(url);
    if (!fs) throw new InvalidArgumentError(`root ${url} is not a ${this.component} root of this engine`);
    return {
      collection,
      component: this.component,
      url,
      index: this.#service.rootIndex(this.component, url),
      fs,
      dir: `${collection}/`,
    };
  }

  #ensureMarker(url: string, fs: FileSystem): Promise<unknown> {
    let p = this.#markers.get(url);
    if (!p) {
      // Markers already present vouch for this one's siblings (discovery then notices a lost marker).
      const siblings = new Set(this.report.roots.filter((r) => r.marker !== undefined).map((r) => r.url));
      for (const marked of this.#marked) siblings.add(marked);
      siblings.delete(url);
      p = ensureRootMarker(fs, this.component, {
        ...(this.#deployment === undefined ? {} : { deployment: this.#deployment }),
        siblings: [...siblings],
      }).then((marker) => {
        this.#marked.add(url);
        return marker;
      });
      p.catch(() => this.#markers.delete(url));
      this.#markers.set(url, p);
    }
    return p;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`${this.component} engine`);
  }
}

/** Strategies known to place without reading a root's bytes: their start-up discovery needs names only. */
const NAMES_ONLY_STRATEGIES: ReadonlySet<string> = new Set(["RoundRobin", "Hash"]);

/**
 * The discovery level a component's placement needs: `names` when its strategy never compares bytes
 * (`RoundRobin`, `Hash`), else `sizes` (`LeastUsed` by bytes, or a custom strategy that may). Conflicts
 * get their copies' sizes and times at either level.
 *
 * @example
 * discoveryDetailFor(service, "wal"); // "names" for a RoundRobin wal, "sizes" for a LeastUsed one
 */
export function discoveryDetailFor(service: AssignmentService, component: ComponentType): DiscoveryDetail {
  const strategy = service.stats().find((s) => s.component === component)?.strategy;
  return strategy !== undefined && NAMES_ONLY_STRATEGIES.has(strategy) ? "names" : "sizes";
}

/** Without `rootAccess`: the roots the discovery report does not show online are never written. */
function reportAccess(report: DiscoveryReport<DiscoveryDetail>): RootAccess {
  const refused = new Map(
    report.roots
      .filter((r) => r.status !== "online")
      .map((r) => [r.url, `${r.status}${r.error === undefined ? "" : `: ${r.error}`}`]),
  );
  return { refusal: (url) => refused.get(url) };
}

/**
 * Gives every absent, unexpected root its marker (which creates it) and reports it online and empty.
 * A root whose creation fails (a missing bucket, no permission) stays as discovery reported it.
 */
async function createAbsentRoots(
  report: DiscoveryReport<DiscoveryDetail>,
  fileSystems: ReadonlyMap<string, FileSystem>,
  component: ComponentType,
  deployment: string | undefined,
): Promise<DiscoveryReport<DiscoveryDetail>> {
  const marked = report.roots.filter((r) => r.marker !== undefined).map((r) => r.url);
  const roots = [];
  for (const r of report.roots) {
    const fs = fileSystems.get(r.url);
    if (!isNewRoot(r) || !fs) {
      roots.push(r);
      continue;
    }
    try {
      const marker = await ensureRootMarker(fs, component, {
        ...(deployment === undefined ? {} : { deployment }),
        siblings: marked.filter((u) => u !== r.url),
      });
      const { error: _error, absent: _absent, ...rest } = r;
      roots.push({ ...rest, status: "online" as const, marker });
      marked.push(r.url);
    } catch {
      roots.push(r);
    }
  }
  return { ...report, roots };
}
