// The node:fs-compatible module LocalFileSystem and its listing run on (node:fs itself, or memfs).

/** The promise API this adapter uses: `node:fs/promises`, or memfs's `fs.promises`. */
export type FsPromisesModule = Pick<
  typeof import("node:fs/promises"),
  "open" | "readdir" | "stat" | "rename" | "link" | "unlink" | "mkdir" | "rm" | "rmdir"
>;

/**
 * A node:fs-compatible module: `node:fs` itself, or memfs's `fs` (`createFsFromVolume(volume)`).
 * When it also has the callback `readdir` and `stat` (both do), listings use them: they cost far less
 * per call than the promise API. A module with `promises` only still works, listing more slowly.
 */
export interface FsModule {
  readonly promises: unknown;
  /** Callback `readdir(path, { withFileTypes: true }, cb)`, used by listings when present. */
  readonly readdir?: unknown;
  /** Callback `stat(path, cb)`, used by listings when present. */
  readonly stat?: unknown;
  /** Callback `open`, `read` and `close`, used by positional readers (`openReader`) when all three are present. */
  readonly open?: unknown;
  readonly read?: unknown;
  readonly close?: unknown;
}
