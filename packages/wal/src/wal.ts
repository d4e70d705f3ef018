import {
  ClosedError,
  type CollectionId,
  type ComponentType,
  type FileSystem,
  InvalidArgumentError,
  isFsError,
  listAll,
  parseCollectionId,
} from "@proximadb/core";
import {
  type CollectionLocation,
  EngineBase,
  EngineError,
  type EngineOpenOptions,
  PlacedEngine,
  type StorageEngine,
  assertEpoch,
} from "@proximadb/engine";
import type { DecodeFailure, WalEncoding } from "./codec.js";
import { CheckpointAheadError, WalError } from "./errors.js";
import { type CommitContext, type SyncPolicy, drainAppends, drainObjects } from "./group-commit.js";
import { type AppendResult, type CollectionLog, type Pending, segmentInfo } from "./log-state.js";
import { type EncodableRecord, type WalEntry, type WalRecord, fromEncodable, toEncodable } from "./record.js";
import { CODECS, type SegmentInfo, compareSegments, parseSegmentKey, segmentCutoffs } from "./segments.js";

export type { AppendResult } from "./log-state.js";
export type { SyncPolicy } from "./group-commit.js";

/** A torn or corrupt tail found in a segment. */
export interface WalCorruption {
  readonly collection: string;
  /** Root-relative key of the segment. */
  readonly key: string;
  /** Where the unreadable bytes start. */
  readonly offset: number;
  /** Unreadable bytes (never replayed). */
  readonly bytes: number;
  readonly reason: DecodeFailure["reason"];
  /** The tail was cut off (append-capable backends, newest segment, at recovery) or the empty segment deleted. */
  readonly truncated: boolean;
}

/** Options of {@link WriteAheadLog.open}: the shared engine options (`now` also stamps records) plus the WAL's own. */
export interface WalOptions extends EngineOpenOptions {
  /** Segment encoding for new segments (existing segments of either encoding are replayed). Default `bincode`. */
  readonly encoding?: WalEncoding;
  /** Default `batch`. */
  readonly sync?: SyncPolicy;
  /** A segment is closed and a new one started once it would grow past this. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Called for every torn or corrupt tail found (also kept in {@link WriteAheadLog.corruptions}). */
  readonly onCorruption?: (c: WalCorruption) => void;
  /**
   * Object stores (no `append`): group objects a collection keeps in flight at once, acknowledged in
   * sequence order (see the README's "Group commits"). Default 4; 1 writes one group at a time. Roots with
   * `append` always write one group at a time per segment.
   */
  readonly groupsInFlight?: number;
}

/** What {@link WriteAheadLog.recover} found in a collection's log. */
export interface WalRecovery {
  /** The last sequence the log holds (0 when it holds none). */
  readonly lastSequence: number;
  /** The sequence the next append gets. */
  readonly nextSequence: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_GROUPS_IN_FLIGHT = 4;

/**
 * A per-collection write-ahead log whose segments live in the collection's assigned WAL root:
 * `<root>/<id>/wal-<first sequence>.<avro|bincode>`.
 *
 * @example
 * const wal = await WriteAheadLog.open({ service, openFileSystem: (r) => new LocalFileSystem(r), sync: "batch" });
 * const { first } = await wal.append("orders", [{ op: "put", id: "v1", vector: new Float32Array([1, 2]) }]);
 * for await (const r of wal.replay("orders")) apply(r);
 * await wal.checkpoint("orders", flushedUpTo);
 */
export class WriteAheadLog extends PlacedEngine implements StorageEngine {
  readonly component: ComponentType = "wal";
  readonly encoding: WalEncoding;
  readonly syncPolicy: SyncPolicy;
  readonly segmentBytes: number;
  /** Object stores: group objects in flight at once per collection. */
  readonly groupsInFlight: number;
  /** Every torn or corrupt tail found since open. */
  readonly corruptions: WalCorruption[] = [];

  /** Placement, the collections' directories, and the roots' file systems. */
  readonly #base: EngineBase;
  readonly #logs = new Map<string, Promise<CollectionLog>>();
  /** The recovered logs of {@link #logs}, for the append fast path (no await before queueing). */
  readonly #ready = new Map<string, CollectionLog>();
  readonly #reported = new Set<string>();
  readonly #onCorruption: ((c: WalCorruption) => void) | undefined;
  readonly #now: () => number;
  readonly #commit: CommitContext;
  #closed = false;

  private constructor(base: EngineBase, options: WalOptions) {
    super(base);
    this.#base = base;
    this.encoding = options.encoding ?? "bincode";
    this.syncPolicy = options.sync ?? "batch";
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#onCorruption = options.onCorruption;
    this.#now = options.now ?? Date.now;
    this.groupsInFlight = options.groupsInFlight ?? DEFAULT_GROUPS_IN_FLIGHT;
    this.#commit = {
      sync: this.syncPolicy,
      codec: CODECS[this.encoding],
      segmentBytes: this.segmentBytes,
      groupsInFlight: this.groupsInFlight,
      assertWritable: (log) => this.#base.assertWritable(log.location),
    };
  }

  /**
   * Opens the WAL: discovery over the `wal` roots (unless `report` is given), placement map, stale
   * staging removed. Collections are recovered lazily, on their first append, replay or checkpoint.
   * @throws InvalidArgumentError for a bad `encoding`, `sync`, `segmentBytes` or `groupsInFlight` (before anything is
   *   opened), and whatever {@link EngineBase.open} throws
   */
  static async open(options: WalOptions): Promise<WriteAheadLog> {
    const encoding = options.encoding ?? "bincode";
    if (!(encoding in CODECS))
      throw new InvalidArgumentError(
        `encoding must be "avro" or "bincode" (got ${JSON.stringify(encoding)})`,
      );
    const sync = options.sync ?? "batch";
    if (sync !== "always" && sync !== "batch" && sync !== "none") {
      throw new InvalidArgumentError(
        `sync must be "always", "batch" or "none" (got ${JSON.stringify(sync)})`,
      );
    }
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!(Number.isSafeInteger(segmentBytes) && segmentBytes > 0)) {
      throw new InvalidArgumentError(`segmentBytes must be a positive integer (got ${segmentBytes})`);
    }
    const groups = options.groupsInFlight ?? DEFAULT_GROUPS_IN_FLIGHT;
    if (!(Number.isSafeInteger(groups) && groups > 0)) {
      throw new InvalidArgumentError(`groupsInFlight must be a positive integer (got ${groups})`);
    }
    const {
      encoding: _e,
      sync: _s,
      segmentBytes: _b,
      onCorruption: _c,
      groupsInFlight: _g,
      ...engineOptions
    } = options;
    const base = await EngineBase.open({ ...engineOptions, component: "wal" });
    return new WriteAheadLog(base, options);
  }

  /**
   * Appends records to a collection's log (assigning its WAL root on first use). Resolves once the
   * records are durable under the sync policy, with the sequences they were given (consecutive,
   * in array order).
   * @throws WalError `InvalidRecord`, `SequenceOverflow`; ClosedError; InvalidCollectionIdError; FsError from storage
   */
  append(id: string, entries: readonly WalEntry[]): Promise<AppendResult> {
    // Not `async`: the recovered-log fast path queues without an extra promise or await; every throw is a rejection.
    try {
      this.assertOpen();
      if (!Array.isArray(entries)) throw new WalError("InvalidRecord", "append takes an array of records");
      // Only ids that passed parseCollectionId are keys of #ready.
      const log = this.#ready.get(id);
      return log ? this.#enqueue(log, entries) : this.#appendPlacing(id, entries);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async #appendPlacing(id: string, entries: readonly WalEntry[]): Promise<AppendResult> {
    const collection = parseCollectionId(id);
    this.#base.assertMayModify(collection);
    const log = await this.#log(collection, true);
    this.assertOpen();
    return this.#enqueue(log, entries);
  }

  #enqueue(log: CollectionLog, entries: readonly WalEntry[]): Promise<AppendResult> {
    const collection = log.id;
    if (!log.mayWrite) this.#base.assertMayModify(collection);
    const first = log.nextSequence;
    if (first + entries.length > Number.MAX_SAFE_INTEGER) {
      throw new WalError(
        "SequenceOverflow",
        `sequences of ${collection} would pass ${Number.MAX_SAFE_INTEGER}`,
      );
    }
    const now = this.#now();
    const records: EncodableRecord[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++)
      records[i] = toEncodable(collection, first + i, entries[i] as WalEntry, now);
    const result = { first, last: first + records.length - 1 };
    if (records.length === 0) return Promise.resolve(result);
    log.nextSequence = first + records.length;
    return new Promise<AppendResult>((resolve, reject) => {
      log.queue.push({ records, result, resolve, reject } satisfies Pending);
      this.#kick(log);
    });
  }

  /**
   * Yields every record of a collection's log in sequence order (optionally only those after
   * `after`). A torn or corrupt tail is reported (`onCorruption`, {@link corruptions}) and never
   * yielded. Meant for recovery: records appended while a replay runs may or may not be yielded.
   */
  async *replay(id: string, options: { after?: number } = {}): AsyncGenerator<WalRecord> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    if (!this.#base.locate(collection) && !this.#logs.has(collection)) return;
    const log = await this.#log(collection, false);
    const after = options.after ?? 0;
    const fs = log.location.fs;
    // Fencing: records of an epoch at or past the start of a higher epoch are a stale owner's.
    const cutoff = segmentCutoffs(log.segments);
    const segments = [...log.segments];
    const due = segments.filter((seg, i) => {
      const next = segments[i + 1];
      if (next !== undefined && next.first <= after + 1) return false; // wholly before `after`
      return seg.first < cutoff(seg.epoch); // else written after a takeover
    });
    // Reads run ahead of the decoding, in order: on an object store every group commit is its own object,
    // and one GET at a time made start-up wait for each round trip in turn. Memory stays bounded by the
    // window (one segment ahead on disk, where segments are large).
    const ahead = fs.capabilities.append ? 1 : REPLAY_READ_AHEAD;
    const readOf = (seg: SegmentInfo) =>
      readSegment(fs, seg, () => (log.active?.info === seg ? log.active.size : undefined));
    const reads = due.slice(0, ahead + 1).map(readOf);
    for (let i = 0; i < due.length; i++) {
      const seg = due[i] as SegmentInfo;
      const read = await (reads.shift() as Promise<SegmentRead>);
      const later = due[i + ahead + 1];
      if (later) reads.push(readOf(later));
      if ("error" in read) {
        if (isFsError(read.error, "NotFound")) continue; // checkpointed meanwhile
        throw read.error;
      }
      const { bytes } = read;
      const limit = cutoff(seg.epoch);
      const decoded = seg.codec.decode(bytes);
      if (decoded.failure) this.#report(collection, seg.key, decoded.failure, bytes.length, false);
      for (const r of decoded.records) if (r.sequence > after && r.sequence < limit) yield fromEncodable(r);
    }
  }

  /**
   * Recovers a collection's log against the checkpoint its caller keeps elsewhere (the node keeps it in
   * its catalog, beside the engine's files): from then on the log never issues a sequence at or below
   * `checkpoint`, whatever its files say. Call it at start-up before replaying or appending.
   * @throws CheckpointAheadError when `checkpoint` is above the last sequence the log holds (its segments
   *   were lost, or its folder re-created): replaying after the checkpoint would silently skip records
   *   appended since. The log's next sequence is raised above the checkpoint all the same.
   */
  async recover(id: string, options: { checkpoint: number }): Promise<WalRecovery> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const checkpoint = options.checkpoint;
    if (!Number.isSafeInteger(checkpoint) || checkpoint < 0)
      throw new InvalidArgumentError(
        `checkpoint must be a non-negative safe integer (got ${String(checkpoint)})`,
      );
    const located = this.#base.locate(collection) !== undefined || this.#logs.has(collection);
    if (!located && checkpoint === 0) return { lastSequence: 0, nextSequence: 1 };
    // A checkpoint with no log at all: the log is placed again (in its pinned root) so the floor holds.
    const log = await this.#log(collection, !located);
    const lastSequence = log.nextSequence - 1;
    log.nextSequence = Math.max(log.nextSequence, checkpoint + 1);
    if (checkpoint > lastSequence)
      throw new CheckpointAheadError(collection, checkpoint, lastSequence, log.location.url);
    return { lastSequence, nextSequence: log.nextSequence };
  }

  /**
   * Fences the collection's log at writer epoch `epoch` (see the README's "Fencing"): waits for the
   * appends in flight, lists the segments again and reads the newest (records a stale owner appended
   * meanwhile are counted, never replayed), closes the open segment, and durably starts the next one,
   * `wal-<next sequence>-e<epoch>`, before it returns: from then on records of lower epochs at or past
   * that sequence are never replayed. Places the collection when it has no WAL root yet. The same epoch
   * again does nothing.
   * @throws InvalidArgumentError for an epoch that is not a positive safe integer; EngineError
   *   `StaleEpoch` when the log is at a higher epoch (fenced here or found on storage), nothing changed
   */
  async fence(id: string, epoch: number): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    assertEpoch(epoch);
    const log = await this.#log(collection, true);
    log.fences++;
    let done: Promise<void>;
    try {
      while (log.flushing) await log.flushing;
      // Holding `flushing` keeps appends queued (not written) until the new segment exists.
      done = this.#fence(log, epoch);
    } finally {
      log.fences--;
    }
    log.flushing = done
      .catch(() => undefined)
      .finally(() => {
        log.flushing = undefined;
        if (log.queue.length > 0 && log.fences === 0) this.#kick(log);
      });
    await done;
  }

  async #fence(log: CollectionLog, epoch: number): Promise<void> {
    const collection = log.id;
    if (this.#base.isFenced(collection) && this.#base.epochOf(collection) === epoch) return;
    const listed = await this.#listSegments(log.location);
    // Raises the found epoch first: a fence below what storage shows is refused, nothing changed.
    this.#base.observeEpoch(collection, listed[listed.length - 1]?.epoch ?? 0);
    await this.#base.fence(collection, epoch);
    const active = log.active;
    if (active) {
      log.active = undefined;
      await active.handle.close();
    }
    // Keep the infos this log knows (the replay of an open segment goes by identity).
    const known = new Map(log.segments.map((s) => [s.key, s]));
    const segments = listed.map((s) => known.get(s.key) ?? s);
    // A torn tail is cut only in a segment of this very epoch (this owner's own, from before a restart):
    // a lower epoch's writer may still be appending to its segment.
    const newest = segments[segments.length - 1];
    const { nextSequence } = await this.#scanNewest(
      collection,
      log.location,
      segments,
      newest?.epoch === epoch,
    );
    log.segments = segments;
    log.nextSequence = Math.max(log.nextSequence, nextSequence);
    log.epoch = epoch;
    log.mayWrite = true;
    log.marker = undefined;
    // Appends queued while the fence waited already hold their sequences and are written into the new
    // segment: it is named after the first of them, so no record of it sits below its name (a later fence
    // at the same sequence would otherwise make the whole segment look stale).
    const queued = log.queue[0]?.records[0]?.sequence;
    const first = queued === undefined ? log.nextSequence : Math.min(queued, log.nextSequence);
    const codec = CODECS[this.encoding];
    const info = segmentInfo(log, first, codec);
    this.#base.assertWritable(log.location);
    const fs = log.location.fs;
    const writer = codec.newSegment();
    if (fs.capabilities.append) {
      const handle = await fs.openAppend(info.key);
      try {
        if (handle.size > 0) await handle.truncate(0); // a fence at this epoch cut short: nothing in it
        if (writer.header.length > 0) await handle.write(writer.header);
        await handle.sync();
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
      log.active = { info, handle, writer, size: writer.header.length, records: 0 };
    } else {
      // One object per group: the empty segment is the durable start of the epoch until the first group
      // after the fence replaces it (the one write to the same key that is not exclusive).
      await fs.write(info.key, writer.header, { durable: true });
      log.marker = info.key;
    }
    const i = log.segments.findIndex((s) => s.key === info.key);
    if (i >= 0) log.segments[i] = info;
    else log.segments.push(info);
  }

  /**
   * The highest WAL checkpoint a writer of epoch `epoch` can have made good: the first sequence of the
   * next higher epoch in the log, minus one (`Number.MAX_SAFE_INTEGER` when no higher epoch started).
   * A checkpoint of epoch `epoch` above it was written by a stale owner after the takeover: recovery
   * caps it here, else it would skip the new owner's unflushed records. Read-only.
   * @throws InvalidArgumentError for an epoch that is not a non-negative safe integer
   */
  async checkpointCap(id: string, epoch: number): Promise<number> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new InvalidArgumentError(`epoch must be a non-negative safe integer (got ${String(epoch)})`);
    if (!this.#base.locate(collection) && !this.#logs.has(collection)) return Number.MAX_SAFE_INTEGER;
    const log = await this.#log(collection, false);
    const start = segmentCutoffs(log.segments)(epoch);
    return start === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : start - 1;
  }

  /** The writer epoch of the collection's log: fenced here, else the highest its segments show (0: none). */
  epochOf(id: string): number {
    this.assertOpen();
    return this.#base.epochOf(id);
  }

  /**
   * Deletes the segments wholly covered by `sequence` (every record ≤ it, e.g. flushed to VIPER), durably.
   * The newest segment that holds a record is always kept (and every segment after it): its name and
   * records carry the sequence forward across restarts, even when a crash leaves a newer segment empty.
   * Returns how many segments were deleted.
   */
  async checkpoint(id: string, sequence: number | bigint): Promise<number> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const upTo = Number(sequence);
    if (!Number.isSafeInteger(upTo) || upTo < 0)
      throw new InvalidArgumentError(
        `checkpoint sequence must be a non-negative safe integer (got ${sequence})`,
      );
    if (!this.#base.locate(collection) && !this.#logs.has(collection)) return 0;
    const log = await this.#log(collection, false);
    this.#base.assertMayModify(collection);
    if (log.epoch > 0) {
      // Fenced writers look first: a writer fenced out by a higher epoch deletes nothing (the new owner
      // may still need those segments: this writer's flushes after the takeover are ignored).
      const listed = await this.#listSegments(log.location);
      this.#base.assertNotFencedOut(collection, Math.max(log.epoch, ...listed.map((s) => s.epoch)));
    }
    // The active segment holds a record only once a write to it completed (it is pushed when created).
    const holds = (s: SegmentInfo) => log.active?.info !== s || log.active.records > 0;
    let newest = log.segments.length - 1;
    while (newest >= 0 && !holds(log.segments[newest] as SegmentInfo)) newest--;
    const doomed: SegmentInfo[] = [];
    for (let i = 0; i < newest; i++) {
      const seg = log.segments[i] as SegmentInfo;
      const next = log.segments[i + 1] as SegmentInfo;
      if (next.first <= upTo + 1 && seg.epoch <= log.epoch) doomed.push(seg);
    }
    if (doomed.length === 0) return 0;
    this.#base.assertWritable(log.location);
    await log.location.fs.deleteMany(
      doomed.map((s) => s.key),
      { durable: true },
    );
    log.segments = log.segments.filter((s) => !doomed.includes(s));
    return doomed.length;
  }

  /**
   * Drops a collection's log: waits for its pending appends, then deletes its files and its WAL
   * assignment (through the engine base).
   */
  async drop(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const pending = this.#logs.get(collection);
    if (pending) {
      const log = await pending.catch(() => undefined);
      if (log) await this.#quiesce(log, true);
      this.#logs.delete(collection);
      this.#ready.delete(collection);
    }
    await this.#base.drop(collection);
  }

  /**
   * Forgets a collection's open log (its pending appends awaited, its segment synced and closed) without
   * deleting anything: the next append or replay lists its segments again where `locate` then points
   * (after a move). See `StorageEngine.release`.
   */
  async release(id: string): Promise<void> {
    this.assertOpen();
    const collection = parseCollectionId(id);
    const pending = this.#logs.get(collection);
    if (!pending) return;
    const log = await pending.catch(() => undefined);
    if (log) {
      while (log.flushing) await log.flushing;
      if (log.active) await log.active.handle.sync();
      await this.#quiesce(log, true);
    }
    if (this.#logs.get(collection) === pending) {
      this.#logs.delete(collection);
      this.#ready.delete(collection);
    }
  }

  /** Waits for every pending append and makes everything written durable (also under `none`). */
  async sync(): Promise<void> {
    const logs = await Promise.allSettled([...this.#logs.values()]);
    await Promise.all(
      logs.map(async (l) => {
        if (l.status === "fulfilled") await this.#quiesce(l.value, false);
      }),
    );
  }

  /** Flushes everything, closes segment handles and the roots' file systems. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const logs = await Promise.allSettled([...this.#logs.values()]);
    await Promise.all(
      logs.map(async (l) => {
        if (l.status === "fulfilled") await this.#quiesce(l.value, true);
      }),
    );
    this.#logs.clear();
    this.#ready.clear();
    await this.#base.close();
  }

  async #quiesce(log: CollectionLog, closeHandle: boolean): Promise<void> {
    while (log.flushing) await log.flushing;
    const active = log.active;
    if (!active) return;
    if (this.syncPolicy === "none") await active.handle.sync();
    if (closeHandle) {
      log.active = undefined;
      await active.handle.close();
    }
  }

  #log(collection: CollectionId, assign: boolean): Promise<CollectionLog> {
    let p = this.#logs.get(collection);
    if (!p) {
      p = (async () => {
        const location = assign ? await this.#base.place(collection) : this.#base.locate(collection);
        if (!location) {
          throw new EngineError("NotAssigned", `collection ${collection} has no WAL root (dropped?)`, {
            collection,
          });
        }
        const log = await this.#recover(collection, location);
        // Still the current entry (not dropped or closed meanwhile): open the fast path.
        if (this.#logs.get(collection) === p) this.#ready.set(collection, log);
        return log;
      })();
      p.catch(() => this.#logs.delete(collection));
      this.#logs.set(collection, p);
    }
    return p;
  }

  /** Lists the segments, reads the newest to find the next sequence, and cuts a torn tail. */
  async #recover(id: CollectionId, location: CollectionLocation): Promise<CollectionLog> {
    const fs = location.fs;
    const segments = await this.#listSegments(location);
    const last = segments[segments.length - 1];
    this.#base.observeEpoch(id, last?.epoch ?? 0);
    const epoch = this.#base.epochOf(id);
    const mayWrite = this.#base.mayModify(id);
    const { nextSequence, empty } = await this.#scanNewest(
      id,
      location,
      segments,
      mayWrite && last?.epoch === epoch,
    );
    return {
      id,
      location,
      segments,
      nextSequence,
      epoch,
      mayWrite,
      marker: empty && last?.epoch === epoch && !fs.capabilities.append ? last?.key : undefined,
      active: undefined,
      queue: [],
      flushing: undefined,
      wake: undefined,
      fences: 0,
      scratch: undefined,
    };
  }

  /** The collection's segments in replay order. */
  async #listSegments(location: CollectionLocation): Promise<SegmentInfo[]> {
    const { files } = await listAll(location.fs, location.dir, { delimiter: true });
    return files
      .map((f) => parseSegmentKey(location.dir, f.key))
      .filter((s): s is SegmentInfo => s !== undefined)
      .sort(compareSegments);
  }

  /**
   * Reads the newest segment (highest epoch, then highest first sequence: every record that is not stale
   * is below what it holds) for the next sequence; cuts a torn tail when `cut` (the writer's own epoch,
   * a writable root). Drops the segment from `segments` when the cut deleted it.
   */
  async #scanNewest(
    id: CollectionId,
    location: CollectionLocation,
    segments: SegmentInfo[],
    cut: boolean,
  ): Promise<{ nextSequence: number; empty: boolean }> {
    const last = segments[segments.length - 1];
    if (!last) return { nextSequence: 1, empty: false };
    const fs = location.fs;
    const newestAt = segments.length - 1;
    let nextSequence = last.first;
    const bytes = await fs.read(last.key);
    const decoded = last.codec.scan(bytes);
    if (decoded.lastSequence !== undefined) nextSequence = Math.max(nextSequence, decoded.lastSequence + 1);
    if (decoded.failure) {
      // A root that may not be written keeps its tail as it is (replays skip it all the same); so does a
      // segment of another epoch (its writer may still be appending: see the README's "Fencing").
      const truncated =
        cut && this.#writable(location)
          ? await this.#cutTail(fs, last, decoded.validBytes, decoded.headerBytes, decoded.records)
          : "kept";
      if (truncated === "deleted") segments.pop();
      this.#report(id, last.key, decoded.failure, bytes.length, truncated !== "kept");
    }
    if (decoded.records === 0)
      nextSequence = Math.max(nextSequence, await this.#afterEarlier(fs, segments, newestAt, last.epoch));
    return { nextSequence, empty: decoded.records === 0 && decoded.failure === undefined };
  }

  /**
   * When the newest segment holds no record: the sequence after the last record of the newest earlier
   * segment of the same epoch that holds one (1 when none does). An empty segment sorts equal to one of
   * the other encoding with the same first sequence (a kill between a rotation's create and its first
   * write leaves an empty `.bincode` file; a restart with `encoding = "avro"` then starts its own segment
   * at that sequence): taking the empty one's name for the next sequence would issue sequences again.
   */
  async #afterEarlier(
    fs: FileSystem,
    segments: readonly SegmentInfo[],
    newestAt: number,
    epoch: number,
  ): Promise<number> {
    for (let i = newestAt - 1; i >= 0; i--) {
      const seg = segments[i] as SegmentInfo;
      if (seg.epoch !== epoch) break;
      const scanned = seg.codec.scan(await fs.read(seg.key));
      if (scanned.lastSequence !== undefined) return scanned.lastSequence + 1;
    }
    return 1;
  }

  async #cutTail(
    fs: FileSystem,
    seg: SegmentInfo,
    validBytes: number,
    headerBytes: number,
    records: number,
  ): Promise<"deleted" | "truncated" | "kept"> {
    if (records === 0 && validBytes <= headerBytes) {
      // Nothing acknowledged in it (a crash while it was being created): remove it whole.
      await fs.delete(seg.key);
      return "deleted";
    }
    if (!fs.capabilities.append) return "kept";
    const handle = await fs.openAppend(seg.key);
    try {
      await handle.truncate(validBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return "truncated";
  }

  #report(collection: string, key: string, failure: DecodeFailure, size: number, truncated: boolean): void {
    // A tail that could not be cut (object stores) is found again by every replay: report it once.
    const id = `${key}@${failure.offset}${truncated ? ":cut" : ""}`; // a kept tail cut later is reported again
    if (this.#reported.has(id)) return;
    this.#reported.add(id);
    const c: WalCorruption = {
      collection,
      key,
      offset: failure.offset,
      bytes: size - failure.offset,
      reason: failure.reason,
      truncated,
    };
    this.corruptions.push(c);
    this.#onCorruption?.(c);
  }

  #kick(log: CollectionLog): void {
    if (log.fences > 0) return;
    if (log.flushing) {
      // The pipeline may be waiting on storage with room for this append (see group-commit.ts).
      const wake = log.wake;
      log.wake = undefined;
      wake?.();
      return;
    }
    // Under `batch`, let appends issued in the same turn of the event loop join the first group.
    const start = this.syncPolicy === "batch" ? new Promise<void>((r) => setImmediate(r)) : Promise.resolve();
    const drain = log.location.fs.capabilities.append ? drainAppends : drainObjects;
    log.flushing = start
      .then(() => drain(this.#commit, log))
      .finally(() => {
        log.flushing = undefined;
        if (log.queue.length > 0 && log.fences === 0) this.#kick(log);
      });
  }

  #writable(location: CollectionLocation): boolean {
    try {
      this.#base.assertWritable(location);
      return true;
    } catch {
      return false;
    }
  }

  protected override assertOpen(): void {
    if (this.#closed) throw new ClosedError("wal");
  }
}

/** Segment reads {@link WriteAheadLog.replay} keeps in flight beyond the one it decodes, on object stores. */
const REPLAY_READ_AHEAD = 16;

type SegmentRead = { readonly bytes: Uint8Array } | { readonly error: unknown };

/**
 * Reads one segment, settled (a read still in flight when a replay stops early must not reject unheard).
 * `activeSize` is asked once the bytes are in: the active segment may be mid-write, and only bytes of
 * completed writes count.
 */
async function readSegment(
  fs: FileSystem,
  seg: SegmentInfo,
  activeSize: () => number | undefined,
): Promise<SegmentRead> {
  try {
    const bytes = await fs.read(seg.key);
    const size = activeSize();
    return { bytes: size === undefined ? bytes : bytes.subarray(0, size) };
  } catch (error) {
    return { error };
  }
}
