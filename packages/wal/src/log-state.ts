// The in-memory state of one collection's log, shared by the WAL and its group-commit pipeline.
import type { AppendHandle, CollectionId } from "@proximadb/core";
import type { CollectionLocation } from "@proximadb/engine";
import type { SegmentCodec, SegmentWriter } from "./codec.js";
import type { EncodableRecord } from "./record.js";
import { type SegmentInfo, compareSegments, segmentKey } from "./segments.js";

/** The sequences an append was given. */
export interface AppendResult {
  readonly first: number;
  readonly last: number;
}

/** One append waiting for its group's write. */
export interface Pending {
  readonly records: EncodableRecord[];
  readonly result: AppendResult;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (err: unknown) => void;
}

/** The open segment of an append-capable root. */
export interface ActiveSegment {
  readonly info: SegmentInfo;
  readonly handle: AppendHandle;
  readonly writer: SegmentWriter;
  /** Bytes of completed (durable, under `batch`/`always`) writes. */
  size: number;
  records: number;
}

export interface CollectionLog {
  readonly id: CollectionId;
  readonly location: CollectionLocation;
  /** In replay order: (epoch, first). */
  segments: SegmentInfo[];
  nextSequence: number;
  /** The writer epoch new segments are named with (the fenced one, else the highest found). */
  epoch: number;
  /** False while the engine runs with `requireFence` and this log was not fenced here. */
  mayWrite: boolean;
  /** Object stores: the key of the empty segment a fence wrote (the first group after it replaces it). */
  marker: string | undefined;
  active: ActiveSegment | undefined;
  queue: Pending[];
  /** The group-commit pipeline (or a fence) at work: settles once nothing is in flight. */
  flushing: Promise<void> | undefined;
  /** Set while the pipeline waits on storage with room for more work: an append wakes it. */
  wake: (() => void) | undefined;
  /** Fences waiting for the writes in flight: no new group starts meanwhile (a fence never starves). */
  fences: number;
  /** Write buffer reused group after group (appends only; never encoded into while a write of it runs). */
  scratch: Buffer | undefined;
}

/** The info of a new segment of `log` starting at `first` (named with the log's writer epoch). */
export function segmentInfo(log: CollectionLog, first: number, codec: SegmentCodec): SegmentInfo {
  return { key: segmentKey(log.location.dir, first, codec, log.epoch), first, epoch: log.epoch, codec };
}

/** Inserts `info` into `log.segments` in replay order (groups in flight may land out of order). */
export function insertSegment(log: CollectionLog, info: SegmentInfo): void {
  const segs = log.segments;
  let i = segs.length;
  while (i > 0 && compareSegments(segs[i - 1] as SegmentInfo, info) > 0) i--;
  segs.splice(i, 0, info);
}
