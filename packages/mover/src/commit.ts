import { type FileSystem, RETIRED_DIR, listAll, readIfPresent } from "@proximadb/core";
import {
  type CommitRecord,
  type MoveSpec,
  type MovedFile,
  commitKey,
  incomingDir,
  parseCommitRecord,
  retiredDir,
} from "./layout.js";
import { inLanes } from "./lanes.js";

/** Files promoted or retired at once: each is one server-side move (a rename on disk). */
const MOVE_LANES = 4;

/**
 * THE commit of a move: one durable write of `_incoming/<collection>/_commit.json` on the destination,
 * listing every verified file. Before it resolves the source copy is live; once it is written the
 * destination copy is (see {@link recoverMoves}). Call it only after the last, fenced copy pass.
 */
export async function commitMove(
  target: FileSystem,
  spec: MoveSpec,
  files: readonly MovedFile[],
  now: () => number = Date.now,
): Promise<CommitRecord> {
  const record: CommitRecord = {
    version: 1,
    id: spec.id,
    collection: spec.collection,
    component: spec.component,
    from: spec.from,
    to: spec.to,
    files: [...files],
    committedAt: new Date(now()).toISOString(),
  };
  await target.write(commitKey(spec.collection), JSON.stringify(record), {
    durable: true,
    contentType: "application/json",
  });
  return record;
}

/** The commit record of a move into `target`, or undefined when that move did not commit. */
export async function readCommit(target: FileSystem, collection: string): Promise<CommitRecord | undefined> {
  const key = commitKey(collection);
  const bytes = await readIfPresent(target, key);
  if (bytes === undefined) return undefined;
  return parseCommitRecord(new TextDecoder().decode(bytes), { root: target.root.url, key });
}

/**
 * Puts the committed copy in place: every file still under `_incoming/<collection>/` moves (same root) to
 * `<collection>/`, a few at once. Idempotent: a file already promoted is skipped. Returns the files it moved.
 */
export async function promote(target: FileSystem, record: CommitRecord): Promise<number> {
  const from = incomingDir(record.collection);
  let moved = 0;
  await inLanes(record.files, MOVE_LANES, async (f) => {
    const key = `${from}${f.path}`;
    if (!(await target.exists(key))) return;
    await target.move(key, `${record.collection}/${f.path}`, { overwrite: true });
    moved++;
  });
  return moved;
}

/**
 * Retires the source copy after the commit: every file under `<collection>/` of the source moves (same
 * root, a few at once) to `_retired/<moveId>/<collection>/`, out of discovery's sight, to be deleted by
 * {@link deleteRetired}. Idempotent. Returns the files it moved.
 */
export async function retireSource(source: FileSystem, spec: MoveSpec): Promise<number> {
  const dir = `${spec.collection}/`;
  const to = retiredDir(spec);
  const { files } = await listAll(source, dir);
  await inLanes(files, MOVE_LANES, (f) =>
    source.move(f.key, `${to}${f.key.slice(dir.length)}`, { overwrite: true }),
  );
  return files.length;
}

/**
 * The end of a committed move: deletes the commit record, then whatever is left of the incoming area.
 * After it the destination's `<collection>/` is an ordinary collection directory.
 */
export async function finishMove(target: FileSystem, spec: Pick<MoveSpec, "collection">): Promise<void> {
  await target.delete(commitKey(spec.collection), { durable: true });
  await target.deletePrefix(incomingDir(spec.collection), { durable: true });
}

/** Rolls back a move that did not commit: deletes `_incoming/<collection>/` (the source stayed live). */
export async function abandonMove(target: FileSystem, collection: string): Promise<void> {
  await target.deletePrefix(incomingDir(collection), { durable: true });
}

/** Deletes retired copies: of one move (`spec`) or every one in the root. Returns the files deleted. */
export async function deleteRetired(source: FileSystem, spec?: Pick<MoveSpec, "id">): Promise<number> {
  return source.deletePrefix(spec ? `${RETIRED_DIR}/${spec.id}/` : `${RETIRED_DIR}/`, { durable: true });
}
