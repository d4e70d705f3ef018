import type { FileSystem, StorageRoot } from "@proximadb/core";
import type { BackendKind, OpenOverrides } from "./types.js";

/** What each backend implements; {@link makeBackend} builds the public objects on top. */
export interface BackendDriver {
  readonly kind: BackendKind;
  readonly settableMtime: boolean;
  readonly endpoint: string | undefined;
  open(root: StorageRoot | string, overrides?: OpenOverrides): FileSystem;
  /** Creates the roots `names` of set `set` (a short word, unique per backend) and returns their URLs. */
  createRoots(set: string, names: readonly string[]): Promise<string[]>;
  /** A URL of a root that does not exist on this backend. */
  absentUrl(set: string, name: string): string;
  /** Sets a file's modification time (only where `settableMtime`). */
  touch?(url: string, key: string, mtimeMs: number): Promise<void>;
  snapshot(set: string): Promise<Record<string, unknown>>;
  removeSet(set: string): Promise<void>;
  /** The folder of a root (local disk only). */
  localPath?(url: string): string;
  stop(): Promise<void>;
}
