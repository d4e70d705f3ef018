import { assertDeletePrefixOp, assertFileOp, assertListOp, assertOpen } from "./fs-support.js";
import type { StorageRoot } from "./storage-url.js";

/**
 * The checks that open every operation of one file-system instance, bound to its root and its page limit,
 * and the instance's open/closed state. An adapter holds one, starts each operation with the check that
 * fits, and calls {@link FsGuard.close} from its own `close()`: the same checks as {@link assertFileOp},
 * {@link assertListOp} and {@link assertDeletePrefixOp}, without passing `(closed, root, …)` at every call.
 *
 * @example
 * this.#guard = new FsGuard(this.root, this.capabilities.maxListPageSize);
 * async stat(key: string) {
 *   const name = this.#prefix + this.#guard.file("stat", key);
 *   …
 * }
 */
export class FsGuard {
  #closed = false;

  /**
   * @param root the root the instance serves (named by every error)
   * @param maxListPageSize the backend's largest listing page (`capabilities.maxListPageSize`)
   */
  constructor(
    readonly root: StorageRoot,
    readonly maxListPageSize: number,
  ) {}

  /** True once {@link FsGuard.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Marks the instance closed. Returns true the first time only, so an adapter releases its resources once. */
  close(): boolean {
    const first = !this.#closed;
    this.#closed = true;
    return first;
  }

  /** @throws ClosedError after {@link FsGuard.close} */
  open(operation: string): void {
    assertOpen(this.#closed, this.root, operation);
  }

  /**
   * The prologue of an operation on one file: open, and `key` names a file. Returns the key.
   * @throws ClosedError after close; FsError `InvalidKey` for a key that does not name a file
   */
  file(operation: string, key: string): string {
    return assertFileOp(this.#closed, this.root, operation, key);
  }

  /**
   * The prologue of `list`: open, a valid (possibly empty) prefix; returns the page size the listing uses.
   * @throws ClosedError after close; FsError `InvalidKey` for an escaping prefix; InvalidArgumentError for a bad page size
   */
  list(prefix: string, pageSize: number | undefined): number {
    return assertListOp(this.#closed, this.root, prefix, pageSize, this.maxListPageSize);
  }

  /**
   * The prologue of `deletePrefix`: open, and a non-empty prefix ending with `/`. Returns the prefix.
   * @throws ClosedError after close; FsError `InvalidKey` for any other prefix
   */
  deletePrefix(prefix: string): string {
    return assertDeletePrefixOp(this.#closed, this.root, prefix);
  }
}
