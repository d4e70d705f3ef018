import { type FileSystem, INCOMING_DIR, RETIRED_DIR } from "@proximadb/core";
import { abandonMove, deleteRetired, finishMove, promote, readCommit, retireSource } from "./commit.js";
import type { CommitRecord } from "./layout.js";

/** Options of {@link recoverMoves}. */
export interface RecoverMovesOptions {
  /** Every configured root's file system, by canonical URL (sources are looked up here). */
  readonly roots: ReadonlyMap<string, FileSystem>;
  /**
   * Makes the assignment store name the destination (compare-and-set from the source; already the
   * destination is fine). Shared stores need it; a store rebuilt from discovery does not.
   */
  readonly reassign?: (record: CommitRecord) => Promise<void>;
}

/** What {@link recoverMoves} did. */
export interface MoveRecovery {
  /** Committed moves it finished (the destination copy is the live one). */
  readonly finished: CommitRecord[];
  /** Uncommitted moves it rolled back (the source copy stays live): `{ collection, root }`. */
  readonly rolledBack: { collection: string; root: string }[];
  /** Retired copies deleted (files). */
  readonly retiredFiles: number;
  /** What it could not finish now (a root unreachable, a source root not configured), with why. */
  readonly pending: { root: string; collection?: string; reason: string }[];
}

/**
 * The recovery rule of moves, from the listings alone; run at start-up before discovery. For every
 * root:
 * - `_incoming/<c>/` without `_commit.json`: the move did not commit; its copy is deleted (the root's
 *   `<c>/` where the move marker `_move.json` is there, then the marker) and the source copy stays live.
 * - `_incoming/<c>/` with `_commit.json`: the move committed; it is finished (idempotently): files a
 *   move of the earlier layout left in `_incoming/<c>/` promoted into `<c>/`, the source's `<c>/`
 *   retired, the store reassigned, the marker and then the record deleted.
 *   While the source root is unreachable the record stays (and the move is reported pending).
 * - `_retired/`: copies of finished moves; deleted.
 */
export async function recoverMoves(o: RecoverMovesOptions): Promise<MoveRecovery> {
  const out: MoveRecovery = { finished: [], rolledBack: [], retiredFiles: 0, pending: [] };
  const reason = (err: unknown) => (err instanceof Error ? err.message : String(err));
  for (const [url, fs] of o.roots) {
    let prefixes: string[];
    try {
      prefixes = await listPrefixes(fs, `${INCOMING_DIR}/`);
    } catch (err) {
      out.pending.push({ root: url, reason: reason(err) });
      continue;
    }
    for (const prefix of prefixes) {
      const collection = prefix.slice(INCOMING_DIR.length + 1, -1);
      try {
        const record = await readCommit(fs, collection);
        if (!record) {
          await abandonMove(fs, collection);
          out.rolledBack.push({ collection, root: url });
          continue;
        }
        await promote(fs, record);
        const source = o.roots.get(record.from);
        if (!source) {
          out.pending.push({ root: url, collection, reason: `source root ${record.from} is not configured` });
          continue;
        }
        await retireSource(source, record);
        await o.reassign?.(record);
        await finishMove(fs, record);
        out.finished.push(record);
      } catch (err) {
        out.pending.push({ root: url, collection, reason: reason(err) });
      }
    }
  }
  for (const [url, fs] of o.roots) {
    try {
      if ((await listPrefixes(fs, `${RETIRED_DIR}/`)).length > 0)
        (out as { retiredFiles: number }).retiredFiles += await deleteRetired(fs);
    } catch (err) {
      out.pending.push({ root: url, reason: reason(err) });
    }
  }
  return out;
}

async function listPrefixes(fs: FileSystem, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of fs.list(prefix, { delimiter: true })) out.push(...page.prefixes);
  return out;
}
