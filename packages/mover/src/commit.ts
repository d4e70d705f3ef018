import { type FileSystem, RETIRED_DIR, listAll, readIfPresent } from "@proximadb/core";
import {
  COMMIT_FILE,
  type CommitRecord,
  MOVE_MARKER_FILE,
  type MoveSpec,
  type MovedFile,
  collectionDir,
  commitKey,
  incomingDir,
  moveMarkerKey,
  parseCommitRecord,
  retiredDir,
} from "./layout.js";
import { inLanes } from "./lanes.js";

/** Files promoted or retired at once: each is one server-side move (a rename on disk). */
const MOVE_LANES = 4;

/**
 * The first durable step of a move: writes the move marker `_incoming/<collection>/_move.json` on the
 * destination, before any byte is copied into its `<collection>/`. While the marker is there without a
 * commit record, that `<collection>/` holds only the uncommitted copy ({@link abandonMove} deletes it).
 * Call it only when the destination's `<collection>/` is empty.
 */
export async function beginMove(target: FileSystem, spec: MoveSpec): Promise<void> {
  await target.write(moveMarkerKey(spec.collection), JSON.stringify({ version: 1, ...spec }), {
    durable: true,
    contentType: "application/json",
  });
}

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
 * Puts the committed copy in place where a move copied into `_incoming/<collection>/` (the layout before
 * the copy went straight to `<collection>/`): every file of the record still there moves (same root) to
 * `<collection>/`, a few at once. Idempotent; one listing, nothing to do for a copy made in place.
 * Returns the files it moved.
 */
export async function promote(target: FileSystem, record: CommitRecord): Promise<number> {
  const from = incomingDir(record.collection);
  const listed = new Set((await listAll(target, from)).files.map((f) => f.key));
  // The record and the marker share the folder: never taken for a copied file of the same name.
  const due = record.files.filter(
    (f) => f.path !== COMMIT_FILE && f.path !== MOVE_MARKER_FILE && listed.has(`${from}${f.path}`),
  );
  await inLanes(due, MOVE_LANES, (f) =>
    target.move(`${from}${f.path}`, `${collectionDir(record.collection)}${f.path}`, { overwrite: true }),
  );
  return due.length;
}

/**
 * Retires the source copy after the commit, out of discovery's sight. Where a move is a rename
 * (`capabilities.atomicMove`: a disk, GCS's `objects.move`) every file under `<collection>/` of the source
 * moves (same root, a few at once) to `_retired/<moveId>/<collection>/`, to be deleted by
 * {@link deleteRetired} after a grace period. Where a move is a server-side copy of every byte and a
 * delete (S3, Azure), the files are deleted at once instead (batched), since a retired copy would cost a
 * second copy of the whole collection: the commit record, deleted only after this, still tells recovery to
 * retire the source when a crash cuts it short. Idempotent. Returns the files it moved or deleted.
 */
export async function retireSource(source: FileSystem, spec: MoveSpec): Promise<number> {
  const dir = `${spec.collection}/`;
  const to = retiredDir(spec);
  const { files } = await listAll(source, dir);
  if (!source.capabilities.atomicMove) {
    await source.deleteMany(
      files.map((f) => f.key),
      { durable: true },
    );
    return files.length;
  }
  await inLanes(files, MOVE_LANES, (f) =>
    source.move(f.key, `${to}${f.key.slice(dir.length)}`, { overwrite: true }),
  );
  return files.length;
}

/**
 * The end of a committed move: deletes the move marker, then the commit record (in that order: a marker
 * without a record means "not committed", and would roll the live copy back), then whatever is left of
 * the incoming area. After it the destination's `<collection>/` is an ordinary collection directory.
 */
export async function finishMove(target: FileSystem, spec: Pick<MoveSpec, "collection">): Promise<void> {
  await target.delete(moveMarkerKey(spec.collection), { durable: true });
  await target.delete(commitKey(spec.collection), { durable: true });
  await target.deletePrefix(incomingDir(spec.collection), { durable: true });
}

/**
 * Rolls back a move that did not commit (the source stayed live): deletes a commit record whose write
 * was not acknowledged, then — where the move marker says the copy went there — the destination's
 * `<collection>/`, and last the incoming area with the marker (so a crash part-way leaves the marker and
 * recovery deletes the rest).
 */
export async function abandonMove(target: FileSystem, collection: string): Promise<void> {
  await target.delete(commitKey(collection), { durable: true });
  if (await target.exists(moveMarkerKey(collection)))
    await target.deletePrefix(collectionDir(collection), { durable: true });
  await target.deletePrefix(incomingDir(collection), { durable: true });
}

/** Deletes retired copies: of one move (`spec`) or every one in the root. Returns the files deleted. */
export async function deleteRetired(source: FileSystem, spec?: Pick<MoveSpec, "id">): Promise<number> {
  return source.deletePrefix(spec ? `${RETIRED_DIR}/${spec.id}/` : `${RETIRED_DIR}/`, { durable: true });
}
