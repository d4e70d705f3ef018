import {
  type CollectionId,
  type FileEntry,
  type FileSystem,
  InvalidArgumentError,
  STAGING_DIR,
  isCollectionId,
  isFsError,
  listAll,
} from "@proximadb/core";
import type { DiscoveryDetail, DiscoveryReport } from "@proximadb/discovery";

/**
 * The staging layout: `<id>/_staging/<owner>/<sequence>-<name>`.
 *
 * - `owner` is the writer's node id (`[A-Za-z0-9_-]{1,64}`). Every file in an owner's folder is that
 *   writer's, including the temp files an adapter makes beside a staged file while writing it (fs-local's
 *   `.<name>.tmp-<hex>`): the owner comes from the folder, never from a file name an adapter made.
 * - `sequence` is the writer's monotonic staging sequence, 10 base-36 digits (fixed width: name order is
 *   sequence order), starting at the writer's clock at open and never going back across its restarts.
 * - `name` is the engine's name for the output (`flush-7`, `00000012.sst`), at most
 *   {@link MAX_STAGED_NAME} characters, so everything after `_staging/` stays under 200 bytes.
 */
export const STAGING_LAYOUT = "<id>/_staging/<owner>/<sequence>-<name>";

/** Longest engine name of a staged file. */
export const MAX_STAGED_NAME = 120;
/** Digits of a staging sequence. */
export const SEQUENCE_DIGITS = 10;
const MAX_SEQUENCE = 36 ** SEQUENCE_DIGITS - 1;

/** Node ids (staging owners). */
export const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const STAGED_NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${MAX_STAGED_NAME - 1}}$`);
const STAGED_FILE = new RegExp(`^([0-9a-z]{${SEQUENCE_DIGITS}})-([A-Za-z0-9][A-Za-z0-9._-]*)$`);

/** What {@link parseStagingKey} reads from a key under a collection's `_staging/`. */
export interface StagingKey {
  readonly collection: CollectionId;
  /** The writer (from its folder); undefined for files outside an owner folder (an older layout). */
  readonly owner: string | undefined;
  /** The writer's staging sequence; undefined for any other file in the folder (an adapter's temp file). */
  readonly sequence: number | undefined;
  /** The engine's name of the output; undefined when `sequence` is. */
  readonly name: string | undefined;
}

/**
 * Reads a root-relative key under `<id>/_staging/`, or undefined for any other key. The one parser of
 * staging names: owners come from the folder, sequence and name only from a file name that follows the
 * layout exactly (fixed-width sequence first), so an adapter's temp name (`.x.tmp-…`, `x.part`) is
 * never taken for another writer's file or for a stage time.
 */
export function parseStagingKey(key: string): StagingKey | undefined {
  const parts = key.split("/");
  if (parts.length < 3 || parts[1] !== STAGING_DIR || !isCollectionId(parts[0])) return undefined;
  const collection = parts[0] as CollectionId;
  const rest = parts.slice(2);
  if (rest.length !== 2 || !NODE_ID.test(rest[0] as string) || rest[1] === "")
    return { collection, owner: undefined, sequence: undefined, name: undefined };
  const owner = rest[0] as string;
  const m = STAGED_FILE.exec(rest[1] as string);
  if (!m) return { collection, owner, sequence: undefined, name: undefined };
  return { collection, owner, sequence: Number.parseInt(m[1] as string, 36), name: m[2] as string };
}

/** The root-relative key of a staged file (see {@link STAGING_LAYOUT}). */
export function stagingKey(dir: string, owner: string, sequence: number, name: string): string {
  return `${dir}${STAGING_DIR}/${owner}/${sequence.toString(36).padStart(SEQUENCE_DIGITS, "0")}-${name}`;
}

/** Checks a staged file's engine name. @throws InvalidArgumentError */
export function assertStagedName(name: unknown): asserts name is string {
  if (typeof name !== "string" || !STAGED_NAME.test(name)) {
    throw new InvalidArgumentError(
      `staging name must be one file name of 1-${MAX_STAGED_NAME} characters from [A-Za-z0-9._-] starting with a letter or digit (got ${JSON.stringify(name)})`,
    );
  }
}

/** A writer's staging sequence: monotonic, never below its clock at open nor below what it left before. */
export class StagingSequence {
  #next: number;
  constructor(start: number) {
    this.#next = Math.min(Math.max(0, Math.floor(start)), MAX_SEQUENCE);
  }
  /** Raises the next value above `seen` (a sequence found in this writer's leftovers). */
  observe(seen: number): void {
    if (seen >= this.#next) this.#next = Math.min(seen + 1, MAX_SEQUENCE);
  }
  next(): number {
    return this.#next++;
  }
}

/** Folder of live-writer heartbeats in every root a writer stages in: `_writers/<nodeId>.json`. */
export const WRITERS_DIR = "_writers";

/** The heartbeat key of a writer. */
export function heartbeatKey(owner: string): string {
  return `${WRITERS_DIR}/${owner}.json`;
}

/** What the staging cleanup at open did. */
export interface StagingCleanup {
  /** Keys removed: this node's leftovers, and files of writers known gone, older than `staleStagingMs`. */
  readonly removed: readonly string[];
  /** Keys kept: files of a live writer (fresh heartbeat), or younger than `staleStagingMs`. */
  readonly kept: readonly string[];
  /** Keys that could not be removed (they are retried at the next open). */
  readonly failed: readonly string[];
}

/** Inputs of {@link cleanStaging}. */
export interface StagingCleanupOptions {
  readonly report: DiscoveryReport<DiscoveryDetail>;
  readonly fileSystems: ReadonlyMap<string, FileSystem>;
  readonly nodeId: string;
  readonly staleMs: number;
  readonly nowMs: number;
  /** Told every sequence found in this node's own leftovers. */
  readonly observeOwn: (sequence: number) => void;
}

/**
 * Removes only provably abandoned staging found in the report's `staging` entries: this node's own
 * leftovers (it is starting, so none of them is in flight), and another writer's files only when that
 * writer is not running (no heartbeat younger than `staleMs` in the root) and the file's own mtime, from
 * the listing, is older than `staleMs`. Files outside an owner folder (an older layout) go by their mtime
 * alone. Each collection's `_staging/` is listed once (for the mtimes); the heartbeats once per root.
 */
export async function cleanStaging(o: StagingCleanupOptions): Promise<StagingCleanup> {
  const folders = new Map<FileSystem, Set<string>>();
  for (const entry of o.report.ignored) {
    if (entry.reason !== "staging") continue;
    const fs = o.fileSystems.get(entry.url);
    const at = entry.key.indexOf(`/${STAGING_DIR}/`);
    if (!fs || at < 0) continue;
    let set = folders.get(fs);
    if (!set) {
      set = new Set();
      folders.set(fs, set);
    }
    set.add(entry.key.slice(0, at + STAGING_DIR.length + 2));
  }
  // Every collection's `_staging/` is listed at once (bounded), not one after another: on an object
  // store each is a LIST round trip, and a start-up after a crash may find thousands.
  const jobs = [...folders].flatMap(([fs, prefixes]) => [...prefixes].map((prefix) => ({ fs, prefix })));
  const listings = await mapBounded(jobs, STAGING_LISTINGS, async ({ fs, prefix }) => {
    try {
      return (await listAll(fs, prefix)).files;
    } catch {
      return undefined;
    }
  });
  const beats = new Map<FileSystem, Promise<ReadonlyMap<string, number> | "unknown">>();
  const liveOf = (fs: FileSystem) => {
    let p = beats.get(fs);
    if (!p) {
      p = heartbeats(fs).then((m) => m ?? "unknown");
      beats.set(fs, p);
    }
    return p;
  };
  const kept: string[] = [];
  const failed: string[] = [];
  const doomedOf = new Map<FileSystem, string[]>();
  for (const [i, { fs, prefix }] of jobs.entries()) {
    const files: FileEntry[] | undefined = listings[i];
    if (!files) {
      failed.push(prefix);
      continue;
    }
    let doomed = doomedOf.get(fs);
    if (!doomed) {
      doomed = [];
      doomedOf.set(fs, doomed);
    }
    for (const f of files) {
      const info = parseStagingKey(f.key);
      if (info?.owner === o.nodeId) {
        if (info.sequence !== undefined) o.observeOwn(info.sequence);
        doomed.push(f.key);
        continue;
      }
      if (info?.owner !== undefined) {
        const live = await liveOf(fs);
        // Liveness unknown (the heartbeats cannot be listed): nothing of another writer is removed.
        const beat = live === "unknown" ? Number.POSITIVE_INFINITY : live.get(info.owner);
        if (beat !== undefined && o.nowMs - beat < o.staleMs) {
          kept.push(f.key);
          continue;
        }
      }
      if (o.nowMs - f.mtimeMs >= o.staleMs) doomed.push(f.key);
      else kept.push(f.key);
    }
  }
  // One durable delete per root, every root at once.
  const roots = [...doomedOf].filter(([, doomed]) => doomed.length > 0);
  const deleted = await Promise.all(
    roots.map(([fs, doomed]) =>
      fs.deleteMany(doomed, { durable: true }).then(
        () => true,
        () => false,
      ),
    ),
  );
  const removed: string[] = [];
  for (const [i, [, doomed]] of roots.entries()) (deleted[i] ? removed : failed).push(...doomed);
  return { removed, kept, failed };
}

/** `_staging/` listings in flight at once during {@link cleanStaging}. */
const STAGING_LISTINGS = 16;

/** `fn` over `items`, at most `limit` at once; results in `items`' order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Removes, durably, the staged files under the collection directory `dir`'s `_staging/` whose writer
 * `doomed` picks (the owner folder's node id; undefined for a file outside an owner folder, an older
 * layout). Returns the keys removed; an absent folder is nothing to remove.
 * @throws FsError from the listing or the delete
 */
export async function removeStaging(
  fs: FileSystem,
  dir: string,
  doomed: (owner: string | undefined) => boolean,
): Promise<string[]> {
  let files: FileEntry[];
  try {
    files = (await listAll(fs, `${dir}${STAGING_DIR}/`)).files;
  } catch (err) {
    if (isFsError(err, "NotFound")) return [];
    throw err;
  }
  const keys = files.filter((f) => doomed(parseStagingKey(f.key)?.owner)).map((f) => f.key);
  if (keys.length > 0) await fs.deleteMany(keys, { durable: true });
  return keys;
}

/** The heartbeat mtime of every writer that left one in the root; undefined when it cannot be listed. */
async function heartbeats(fs: FileSystem): Promise<ReadonlyMap<string, number> | undefined> {
  const out = new Map<string, number>();
  try {
    for (const f of (await listAll(fs, `${WRITERS_DIR}/`)).files) {
      const m = /^_writers\/([A-Za-z0-9_-]{1,64})\.json$/.exec(f.key);
      if (m) out.set(m[1] as string, f.mtimeMs);
    }
  } catch (err) {
    if (!isFsError(err, "NotFound")) return undefined;
  }
  return out;
}

/**
 * This writer's heartbeat in every root it stages in: `_writers/<nodeId>.json`, written before its first
 * staged file in a root and rewritten every `intervalMs` while the engine is open, so other writers
 * sharing the root never take its in-flight staging (a compaction longer than `staleStagingMs`
 * included) for abandoned. Removed at close. A root is written only once this engine stages in it.
 */
export class WriterHeartbeat {
  readonly #nodeId: string;
  readonly #intervalMs: number;
  readonly #roots = new Map<FileSystem, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(nodeId: string, intervalMs: number) {
    this.#nodeId = nodeId;
    this.#intervalMs = intervalMs;
  }

  /** Makes sure the heartbeat is in `fs`'s root (the first call per root writes it). */
  ensure(fs: FileSystem): Promise<void> {
    let p = this.#roots.get(fs);
    if (!p) {
      p = this.#beat(fs);
      p.catch(() => this.#roots.delete(fs));
      this.#roots.set(fs, p);
      if (!this.#timer) {
        this.#timer = setInterval(() => {
          for (const root of this.#roots.keys()) this.#beat(root).catch(() => undefined);
        }, this.#intervalMs);
        this.#timer.unref();
      }
    }
    return p;
  }

  /** Stops beating and removes the heartbeats (best effort: a stale one only delays others' cleanup). */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const roots = [...this.#roots.keys()];
    this.#roots.clear();
    await Promise.allSettled(roots.map((fs) => fs.delete(heartbeatKey(this.#nodeId))));
  }

  #beat(fs: FileSystem): Promise<void> {
    const body = JSON.stringify({ nodeId: this.#nodeId, pid: process.pid, beatAt: new Date().toISOString() });
    return fs.write(heartbeatKey(this.#nodeId), body, { contentType: "application/json" });
  }
}
