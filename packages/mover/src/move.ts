import { type FileSystem, listAll } from "@proximadb/core";
import { abandonMove, beginMove, commitMove, finishMove, readCommit, retireSource } from "./commit.js";
import { CollectionCopy } from "./copy.js";
import { type CommitRecord, MoveError, type MoveSpec } from "./layout.js";
import type { Throttle } from "./throttle.js";

/** The phases of a move, in order. */
export type MovePhase = "copying" | "fenced" | "committed" | "retiring" | "done";

/** Progress of a move. */
export interface MoveProgress {
  readonly phase: MovePhase;
  /** Bytes copied so far (over every pass). */
  readonly bytesDone: number;
  /** Bytes of the source copy at the last listing. */
  readonly totalBytes: number;
}

/** What the caller does around the copy: the fence and the switch-over. */
export interface MoveHooks {
  /**
   * Runs `work` with the collection's writes fenced (appends wait; flushes and compactions wait) and
   * resolves with its result. Reads go on.
   */
  fenced<T>(work: () => Promise<T>): Promise<T>;
  /** Inside the fence, before the last pass: engines write what they hold and close their handles. */
  beforeFinalPass?(): Promise<void>;
  /**
   * Inside the fence, after the commit and the promotion: point the assignment at the destination and let
   * the engines re-open the collection there. A failure leaves the move committed (finished at restart).
   */
  afterCommit(record: CommitRecord): Promise<void>;
  /**
   * After the switch-over, before the source copy is retired: wait for reads that began on the source copy
   * (a get that took its table list before the switch) to end. On S3 and Azure the retirement deletes the
   * source's objects, on a disk it renames them: a read still under way would find its file gone.
   */
  beforeRetire?(): Promise<void>;
}

/** Options of {@link runMove}. */
export interface RunMoveOptions {
  readonly throttle?: Throttle;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: MoveProgress) => void;
  /** Copy passes before the fence (each copies what changed during the previous one). Default 3. */
  readonly maxPasses?: number;
  /** Stop pre-copying once a pass copied at most this many bytes. Default 1 MiB. */
  readonly settleBytes?: number;
  /** Test hook: called at each named step, e.g. to crash there. */
  readonly onStep?: (step: string) => Promise<void> | void;
}

/**
 * Moves one collection's component directory from `source` to `target` online:
 * 1. write the move marker `_incoming/<collection>/_move.json` on the target, then copy `<collection>/`
 *    into the target's `<collection>/`, verifying every file, in passes while writes go on;
 * 2. fence the collection's writes, let the engines write and close what they hold, copy the delta;
 * 3. **commit**: write `_incoming/<collection>/_commit.json` durably (the one step that makes the target
 *    copy the live one);
 * 4. reassign and re-open (hooks), unfence (the copy is already in place: nothing to promote);
 * 5. let reads begun on the source end (`beforeRetire`), retire the source (renamed under
 *    `_retired/<moveId>/`, or deleted on S3 and Azure), delete the marker, then the commit record.
 * A failure before step 3 removes the copy and the marker and leaves the source live; a crash anywhere is
 * finished or rolled back by {@link recoverMoves}.
 * @throws MoveError `Conflict` when the target already holds the collection, `VerifyFailed`, `Aborted`;
 *   FsError from either root; whatever the hooks throw
 */
export async function runMove(
  source: FileSystem,
  target: FileSystem,
  spec: MoveSpec,
  hooks: MoveHooks,
  o: RunMoveOptions = {},
): Promise<CommitRecord> {
  const step = async (name: string) => {
    await o.onStep?.(name);
  };
  if ((await listAll(target, `${spec.collection}/`)).files.length > 0)
    throw new MoveError("Conflict", `${target.root.url} already holds files of ${spec.collection}`);
  if (await readCommit(target, spec.collection))
    throw new MoveError(
      "Conflict",
      `a committed move of ${spec.collection} into ${target.root.url} is unfinished`,
    );
  await abandonMove(target, spec.collection);
  const copy = new CollectionCopy(source, target, spec);
  let bytesDone = 0;
  let totalBytes = 0;
  const report = (phase: MovePhase) => o.onProgress?.({ phase, bytesDone, totalBytes });
  const copyOptions = {
    ...(o.throttle ? { throttle: o.throttle } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    onBytes: (n: number) => {
      bytesDone += n;
      report("copying");
    },
  };
  let committed: CommitRecord | undefined;
  try {
    await beginMove(target, spec);
    const maxPasses = o.maxPasses ?? 3;
    const settle = o.settleBytes ?? 1 << 20;
    for (let i = 0; i < maxPasses; i++) {
      const pass = await copy.pass(copyOptions);
      totalBytes = pass.totalBytes;
      await step(`pass-${i + 1}`);
      if (pass.copiedBytes <= settle) break;
    }
    await hooks.fenced(async () => {
      report("fenced");
      await hooks.beforeFinalPass?.();
      await step("fenced");
      const last = await copy.pass(copyOptions);
      totalBytes = last.totalBytes;
      await step("final-pass");
      if (o.signal?.aborted) throw new MoveError("Aborted", "the move was cancelled");
      committed = await commitMove(target, spec, copy.files());
      report("committed");
      await step("committed");
      // The copy went straight to `<collection>/`: nothing to promote (the step stays, for crash tests).
      await step("promoted");
      await hooks.afterCommit(committed);
      await step("switched");
    });
  } catch (err) {
    if (!committed) await abandonMove(target, spec.collection).catch(() => undefined);
    throw err;
  }
  const record = committed as CommitRecord;
  report("retiring");
  await hooks.beforeRetire?.();
  await retireSource(source, spec);
  await step("retired");
  await finishMove(target, spec);
  await step("finished");
  report("done");
  return record;
}
