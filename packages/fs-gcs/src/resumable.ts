// Resumable uploads that survive faults: every attempt is a fresh session driven by a client whose own
// retries are off, retried here from the first byte while the body can be replayed, under one deadline.
//
// Why not the client's chunk retries: in @google-cloud/storage 7.19.0, when a chunk PUT fails retryably
// and the status query that follows (`PUT`, `Content-Range: bytes */*`) fails retryably too,
// `Upload.getAndSetOffset` schedules a delayed retry *and* returns, so `continueUploading` goes straight
// on to `startUploading` with an unknown offset taken as 0. That emits a raw
// `RangeError: The offset is lower than the number of bytes written` on a stream with no 'error'
// listener, from an un-awaited async function: an unhandled rejection, which crashes Node.js, and the
// upload stream never settles (googleapis/nodejs-storage#2193). With `autoRetry: false` the client
// never reaches `getAndSetOffset` on its own uploads, so that path cannot run.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { File } from "@google-cloud/storage";
import type { FsError } from "@proximadb/core";
import pRetry, { AbortError } from "p-retry";

/**
 * The body of a resumable upload, read once from its source and replayable from the first byte for as
 * long as it has kept every byte read so far (at most `limit` bytes; a `Uint8Array` body always is).
 */
export class ReplayableBody {
  readonly #iterator: AsyncIterator<Uint8Array> | undefined;
  readonly #limit: number;
  #log: Uint8Array[] = [];
  #logBytes = 0;
  #replayable = true;
  #done = false;
  #bytes = 0;
  #inflight: Promise<unknown> | undefined;
  /** The source itself failed (not the upload): never retried, passed on unchanged. */
  sourceError: unknown = undefined;

  private constructor(iterator: AsyncIterator<Uint8Array> | undefined, limit: number) {
    this.#iterator = iterator;
    this.#limit = limit;
  }

  /** A body held whole in memory: replayable on every attempt. */
  static ofBytes(data: Uint8Array): ReplayableBody {
    const body = new ReplayableBody(undefined, Number.POSITIVE_INFINITY);
    body.#log = data.byteLength > 0 ? [data] : [];
    body.#logBytes = body.#bytes = data.byteLength;
    body.#done = true;
    return body;
  }

  /** `head` (already read) followed by the rest of `iterator`; replayable while at most `limit` bytes were read. */
  static ofStream(head: Uint8Array[], iterator: AsyncIterator<Uint8Array>, limit: number): ReplayableBody {
    // The head is in memory already: it is always kept (the limit grows to hold it).
    const headBytes = head.reduce((n, c) => n + c.byteLength, 0);
    const body = new ReplayableBody(iterator, Math.max(limit, headBytes));
    for (const chunk of head) body.#keep(chunk);
    return body;
  }

  /** Bytes read from the source so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True while every byte read so far is still held, so a new attempt can start from byte 0. */
  get replayable(): boolean {
    return this.#replayable;
  }

  /** Waits until no read from the source is in flight (a failed attempt may have left one). */
  async settle(): Promise<void> {
    while (this.#inflight) await this.#inflight.catch(() => undefined);
  }

  /** One pass over the body from byte 0: the kept bytes first, then the rest of the source. */
  async *attempt(): AsyncGenerator<Uint8Array> {
    let i = 0;
    for (;;) {
      if (i < this.#log.length) {
        yield this.#log[i++] as Uint8Array;
        continue;
      }
      if (this.#done) return;
      const read = this.#read();
      this.#inflight = read;
      const next = await read.finally(() => {
        if (this.#inflight === read) this.#inflight = undefined;
      });
      if (next === "kept") continue; // appended to the log: yielded on the next turn
      if (next === "end") return;
      yield next;
    }
  }

  async #read(): Promise<Uint8Array | "kept" | "end"> {
    if (!this.#iterator) return "end";
    let next: IteratorResult<Uint8Array>;
    try {
      next = await this.#iterator.next();
    } catch (err) {
      this.sourceError = err;
      throw err;
    }
    if (next.done) {
      this.#done = true;
      return "end";
    }
    return this.#keep(next.value) ? "kept" : next.value;
  }

  #keep(chunk: Uint8Array): boolean {
    this.#bytes += chunk.byteLength;
    if (this.#replayable && this.#logBytes + chunk.byteLength <= this.#limit) {
      this.#log.push(chunk);
      this.#logBytes += chunk.byteLength;
      return true;
    }
    // Past the limit: stop keeping (and free) what was read; a failure from here on is final. Only the
    // attempt that reads is running, and it has yielded the whole log before reading: nothing is lost.
    this.#replayable = false;
    this.#log = [];
    this.#logBytes = 0;
    return false;
  }
}

/** How to run {@link uploadResumable}. */
export interface ResumableUploadPlan {
  /** The object, from a client whose `autoRetry` is off. */
  readonly file: File;
  readonly body: ReplayableBody;
  readonly chunkSize: number;
  readonly contentType: string;
  readonly exclusive: boolean;
  /** Retries after the first attempt (each a new session from byte 0). */
  readonly retries: number;
  /** Delay before the first retry, in ms, growing by `factor` up to `maxDelayMs`. */
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Aborts the whole upload: the caller's signal and the deadline. */
  readonly signal: AbortSignal;
  /** Maps an attempt's failure to a typed error (retryable or not). */
  readonly toError: (err: unknown) => FsError;
}

/**
 * Uploads `plan.body` through resumable sessions until one is finalised. An attempt that fails
 * retryably is repeated from byte 0 in a new session while the body is replayable; otherwise the
 * typed error is thrown. A session that is not finalised never becomes a visible object.
 */
export async function uploadResumable(plan: ResumableUploadPlan): Promise<void> {
  const { body } = plan;
  await pRetry(
    async () => {
      try {
        await attemptOnce(plan);
      } catch (err) {
        await body.settle();
        if (plan.signal.aborted) throw new AbortError(asError(plan.signal.reason ?? err));
        if (body.sourceError !== undefined) throw new AbortError(asError(body.sourceError));
        const typed = plan.toError(err);
        if (!typed.retryable || !body.replayable) throw new AbortError(typed);
        throw typed;
      }
    },
    {
      retries: plan.retries,
      factor: plan.factor,
      minTimeout: plan.minDelayMs,
      maxTimeout: plan.maxDelayMs,
      signal: plan.signal,
    },
  );
}

async function attemptOnce(plan: ResumableUploadPlan): Promise<void> {
  plan.signal.throwIfAborted();
  const upload = plan.file.createWriteStream({
    resumable: true,
    chunkSize: plan.chunkSize,
    contentType: plan.contentType,
    ...(plan.exclusive ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
  });
  // A late error from a stream this attempt has given up on must never become an uncaught exception.
  upload.on("error", ignore);
  const source = Readable.from(plan.body.attempt(), { objectMode: false });
  source.on("error", ignore);
  await pipeline(source, upload, { signal: plan.signal });
}

function ignore(): void {}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
