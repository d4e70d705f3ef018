import type { FileSystem } from "@proximadb/core";

/** Options of {@link describeFileSystem}. */
export interface DescribeFileSystemOptions {
  /** Returns a file system on a fresh, empty root; called once per test (and once per listing group). */
  readonly create: () => Promise<FileSystem> | FileSystem;
  /** Removes what a test left behind (the suite calls `close()` itself afterwards). */
  readonly cleanup?: (fs: FileSystem) => Promise<void>;
  /**
   * Properties this backend (or its emulator) cannot demonstrate, each with the reason. Their cases are
   * reported as skipped, naming the reason, instead of passing silently.
   */
  readonly notVerifiable?: {
    /** Two racing exclusive creates: exactly one wins (e.g. "s3rver does not enforce If-None-Match"). */
    readonly conditionalCreateRace?: string;
    /** Readers never see a missing or partial target while a move overwrites it. */
    readonly atomicMove?: string;
  };
  /**
   * Opens another, empty root that `fs.copyFrom` can copy from on the server (same backend, endpoint,
   * account or volume). Default: `create()`. Only used when `capabilities.serverSideCopy`.
   */
  readonly openSibling?: (fs: FileSystem) => Promise<FileSystem> | FileSystem;
  /** Size of the streamed body (default 50 MiB). */
  readonly streamBytes?: number;
  /** Keys in the large-listing cases (default 1100: more than one 1,000-key page). */
  readonly manyKeys?: number;
  /**
   * The backend keeps file bodies in this process's memory (memfs): the streaming-write memory bound then
   * allows for the stored body itself (twice, while its buffer grows).
   */
  readonly memoryResident?: boolean;
  /**
   * Opens this adapter on a root URL without touching storage (its constructor, with the options `create`
   * uses). With it the suite checks that a root of another scheme is refused with `InvalidStorageUrlError`;
   * without it that case is reported as skipped.
   */
  readonly openRoot?: (url: string) => FileSystem | Promise<FileSystem>;
}
