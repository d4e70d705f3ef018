// The group-commit pipeline of one collection's log: which appends share a write, when they are
// acknowledged, and what a failed write leaves behind. See the README's "Group commits".
import { type FileSystem, isFsError } from "@proximadb/core";
import type { SegmentCodec, SegmentWriter } from "./codec.js";
import { GroupAbortedError } from "./errors.js";
import {
  type ActiveSegment,
  type CollectionLog,
  type Pending,
  insertSegment,
  segmentInfo,
} from "./log-state.js";
import type { EncodableRecord } from "./record.js";

/**
 * When an append is acknowledged:
 * - `always`: after its own write and fsync (one fsync per append);
 * - `batch`: group commit: appends that arrive while a write is in flight share the next write and fsync;
 * - `none`: after the write, without fsync (tests; survives a process crash, not a power cut).
 */
export type SyncPolicy = "always" | "batch" | "none";

/** What the pipeline needs from its WAL. */
export interface CommitContext {
  readonly sync: SyncPolicy;
  readonly codec: SegmentCodec;
  readonly segmentBytes: number;
  /** Object stores: group objects written at once per collection. */
  readonly groupsInFlight: number;
  /** Throws when the log's root may not be written (it went offline since the log was placed). */
  assertWritable(log: CollectionLog): void;
}

/** Appends that share one write, in sequence order. */
interface Group {
  readonly pendings: Pending[];
  readonly records: EncodableRecord[];
}

/** Largest write buffer a log keeps between groups. */
const MAX_SCRATCH_BYTES = 4 * 1024 * 1024;
const MIN_SCRATCH_BYTES = 64 * 1024;

function take(ctx: CommitContext, log: CollectionLog): Group | undefined {
  if (log.queue.length === 0 || log.fences > 0) return undefined;
  const pendings = ctx.sync === "always" ? [log.queue.shift() as Pending] : log.queue.splice(0);
  let records = (pendings[0] as Pending).records;
  if (pendings.length > 1) {
    records = [];
    for (const p of pendings) for (const r of p.records) records.push(r);
  }
  return { pendings, records };
}

function join(a: Group | undefined, b: Group | undefined): Group | undefined {
  if (!a) return b;
  if (!b) return a;
  return { pendings: a.pendings.concat(b.pendings), records: a.records.concat(b.records) };
}

function acknowledge(group: Group): void {
  for (const p of group.pendings) p.resolve(p.result);
}

function refuse(group: Group, err: unknown): void {
  for (const p of group.pendings) p.reject(err);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits for `settled`, or for an append to arrive (`log.wake`), whichever comes first. */
async function settledOrWoken(log: CollectionLog, settled: Promise<unknown>): Promise<void> {
  await Promise.race([
    settled,
    new Promise<void>((resolve) => {
      log.wake = resolve;
    }),
  ]);
  log.wake = undefined;
}

function scratchFor(bytes: number): Buffer {
  return Buffer.allocUnsafe(Math.max(MIN_SCRATCH_BYTES, 2 ** Math.ceil(Math.log2(bytes))));
}

/** Encodes `records` as one block after `prefix` at the start of the log's write buffer (grown as needed). */
function encodeGroup(
  log: CollectionLog,
  writer: SegmentWriter,
  records: readonly EncodableRecord[],
  prefix: Uint8Array | undefined,
): Uint8Array {
  const data = writer.encode(records, prefix, log.scratch);
  if (data.buffer !== log.scratch?.buffer && data.length <= MAX_SCRATCH_BYTES)
    log.scratch = scratchFor(data.length); // for the next groups
  return data;
}

/**
 * Encodes `records` as one more block at `at` in the log's write buffer, keeping the `at` bytes before
 * (blocks, and bincode frames, simply follow one another in a segment); returns the new end.
 */
function encodeAfter(
  log: CollectionLog,
  writer: SegmentWriter,
  records: readonly EncodableRecord[],
  at: number,
): number {
  const buf = log.scratch;
  const out = writer.encode(records, undefined, buf?.subarray(at));
  if (buf && out.buffer === buf.buffer && out.byteOffset === buf.byteOffset + at) return at + out.length;
  const grown = scratchFor(at + out.length);
  buf?.copy(grown, 0, 0, at);
  grown.set(out, at);
  log.scratch = grown;
  return at + out.length;
}

/** A group's bytes, written (not yet synced) to the open segment. */
interface Written {
  readonly active: ActiveSegment;
  readonly before: number;
  readonly bytes: number;
}

/** Blocks of the next group encoded while the previous fsync ran: `log.scratch[0, bytes)`, for `writer`'s segment. */
interface Prepared {
  readonly writer: SegmentWriter;
  bytes: number;
}

/**
 * Append-capable roots: one write at a time per segment, in sequence order. While a group's fsync runs, the
 * appends arriving meanwhile are encoded as the next group; once the fsync is done, the next write is issued
 * first and the finished group acknowledged after, so the writers' next appends overlap that write.
 */
export async function drainAppends(ctx: CommitContext, log: CollectionLog): Promise<void> {
  let group = take(ctx, log);
  let prepared: Prepared | undefined;
  let durable: Group | undefined; // synced, acknowledged once the next write is on its way
  while (group) {
    const writing = writeBlock(ctx, log, group.records, prepared);
    prepared = undefined;
    if (durable) acknowledge(durable);
    durable = undefined;
    let w: Written;
    try {
      w = await writing;
    } catch (err) {
      refuse(group, err);
      group = take(ctx, log);
      continue;
    } finally {
      // A buffer grown for one very large group is not kept (the write is done with it).
      if ((log.scratch?.length ?? 0) > MAX_SCRATCH_BYTES) log.scratch = undefined;
    }
    let next: Group | undefined;
    if (ctx.sync !== "none") {
      let synced = false;
      const syncing = w.active.handle.sync().then(
        () => {
          synced = true;
          return undefined;
        },
        (err: unknown) => {
          synced = true;
          return err ?? new Error("fsync failed");
        },
      );
      if (ctx.sync === "batch") {
        // The write is done, so the buffer is free: encode what arrives while the fsync runs.
        let bytes = 0;
        while (!synced) {
          await settledOrWoken(log, syncing);
          if (synced) break;
          await nextTurn(); // appends of the same turn join
          const more = take(ctx, log);
          if (!more) continue;
          bytes = encodeAfter(log, w.active.writer, more.records, bytes);
          next = join(next, more);
        }
        if (next) prepared = { writer: w.active.writer, bytes };
      }
      const failed = await syncing;
      if (failed !== undefined) {
        await dropTail(log, w.active, w.before);
        refuse(group, failed);
        // `prepared` was encoded for the segment just closed: the next write encodes again.
        prepared = undefined;
        group = join(next, take(ctx, log));
        continue;
      }
    }
    w.active.size = w.before + w.bytes;
    w.active.records += group.records.length;
    durable = group;
    const rest = take(ctx, log);
    if (rest && prepared) prepared.bytes = encodeAfter(log, prepared.writer, rest.records, prepared.bytes);
    group = join(next, rest);
  }
  if (durable) acknowledge(durable);
}

/** Writes one group to the open segment (a new one when there is none or it would grow too large). */
async function writeBlock(
  ctx: CommitContext,
  log: CollectionLog,
  records: EncodableRecord[],
  prepared: Prepared | undefined,
): Promise<Written> {
  ctx.assertWritable(log);
  const fs = log.location.fs;
  let active = log.active;
  let data: Uint8Array | undefined;
  if (active) {
    data =
      prepared && prepared.writer === active.writer && log.scratch
        ? log.scratch.subarray(0, prepared.bytes)
        : encodeGroup(log, active.writer, records, undefined);
    if (active.records > 0 && active.size + data.length > ctx.segmentBytes) {
      log.active = undefined;
      await active.handle.close();
      active = undefined;
    }
  }
  if (!active) {
    const first = (records[0] as EncodableRecord).sequence;
    const info = segmentInfo(log, first, ctx.codec);
    const handle = await fs.openAppend(info.key);
    if (handle.size > 0) await handle.truncate(0); // leftover of a failed create: nothing in it was acknowledged
    const writer = ctx.codec.newSegment();
    active = { info, handle, writer, size: 0, records: 0 };
    log.active = active;
    // A restart that found this epoch's empty fence segment appends into it again (same key).
    const known = log.segments.findIndex((s) => s.key === info.key);
    if (known >= 0) log.segments[known] = info;
    else log.segments.push(info);
    data = encodeGroup(log, writer, records, writer.header);
  }
  const bytes = data as Uint8Array;
  const before = active.size;
  try {
    await active.handle.write(bytes);
  } catch (err) {
    await dropTail(log, active, before);
    throw err;
  }
  return { active, before, bytes: bytes.length };
}

/** After a failed write or fsync: leaves no unacknowledged bytes behind for the next group to follow. */
async function dropTail(log: CollectionLog, active: ActiveSegment, before: number): Promise<void> {
  if (log.active === active) log.active = undefined;
  await active.handle.truncate(before).catch(() => undefined);
  await active.handle.close().catch(() => undefined);
  if (before === 0) {
    log.segments = log.segments.filter((s) => s !== active.info);
    await log.location.fs.delete(active.info.key).catch(() => undefined);
  }
}

interface InFlight {
  readonly group: Group;
  settled: Promise<void>;
  done: boolean;
  ok: boolean;
  error: unknown;
}

/**
 * Object stores: one object per group, up to `groupsInFlight` at once. A group is acknowledged only once it
 * and every earlier group landed; when one fails, it and every later group in flight are refused (those
 * that landed with {@link GroupAbortedError}), and no new group starts until they have all settled.
 */
export async function drainObjects(ctx: CommitContext, log: CollectionLog): Promise<void> {
  const window: InFlight[] = [];
  let failed: { first: number; error: unknown } | undefined;
  for (;;) {
    while (failed === undefined && window.length < ctx.groupsInFlight) {
      const group = take(ctx, log);
      if (!group) break;
      const f: InFlight = { group, settled: Promise.resolve(), done: false, ok: false, error: undefined };
      f.settled = writeObject(ctx, log, group.records).then(
        () => {
          f.ok = true;
          f.done = true;
        },
        (err: unknown) => {
          f.error = err;
          f.done = true;
        },
      );
      window.push(f);
    }
    const head = window[0];
    if (!head) return;
    if (failed === undefined && window.length < ctx.groupsInFlight && log.fences === 0) {
      await settledOrWoken(log, head.settled);
      if (!head.done && ctx.sync === "batch") await nextTurn(); // appends of the same turn join
    } else await head.settled;
    while (window[0]?.done) {
      const f = window.shift() as InFlight;
      if (failed) refuse(f.group, f.ok ? new GroupAbortedError(log.id, failed.first, failed.error) : f.error);
      else if (f.ok) acknowledge(f.group);
      else {
        failed = { first: (f.group.records[0] as EncodableRecord).sequence, error: f.error };
        refuse(f.group, f.error);
      }
    }
    if (window.length === 0) failed = undefined;
  }
}

/** True when `key` holds exactly `bytes` (false when it cannot be read). */
async function holds(fs: FileSystem, key: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(await fs.read(key)).equals(bytes);
  } catch {
    return false;
  }
}

/** One complete object for the group, through the same naming as segments. */
async function writeObject(
  ctx: CommitContext,
  log: CollectionLog,
  records: EncodableRecord[],
): Promise<void> {
  ctx.assertWritable(log);
  const fs = log.location.fs;
  const writer = ctx.codec.newSegment();
  const info = segmentInfo(log, (records[0] as EncodableRecord).sequence, ctx.codec);
  const bytes = writer.encode(records, writer.header);
  try {
    // Exclusive: two writers never overwrite one object (only this epoch's own empty fence segment).
    await fs.write(info.key, bytes, { durable: ctx.sync !== "none", exclusive: info.key !== log.marker });
  } catch (err) {
    // A lost answer whose retry found the object: it is this group's when it holds these bytes.
    if (!isFsError(err, "AlreadyExists") || !(await holds(fs, info.key, bytes))) throw err;
  }
  if (info.key === log.marker) log.marker = undefined;
  else insertSegment(log, info);
}
