import type { FileSystem, StorageRoot } from "@proximadb/core";

/** The storage backends a suite can run on. */
export type BackendKind = "memory" | "local" | "s3" | "azure" | "gcs";

/** Every {@link BackendKind}, cheapest first. */
export const BACKEND_KINDS: readonly BackendKind[] = ["memory", "local", "s3", "azure", "gcs"];

/** How suites name each backend in their titles. */
export const BACKEND_NAMES: Readonly<Record<BackendKind, string>> = {
  memory: "memfs",
  local: "local disk",
  s3: "s3rver",
  azure: "Azurite",
  gcs: "GCS server",
};

/** Content of one file written by {@link RootSet.write}; `mtimeMs` is applied where the backend lets a test set it. */
export type FileSpec =
  | string
  | Uint8Array
  | { readonly data: string | Uint8Array; readonly mtimeMs?: number };

/** Overrides for one {@link StorageBackend.openFileSystem} call. */
export interface OpenOverrides {
  /**
   * The HTTP endpoint to talk to instead of the emulator's own (a fault proxy in front of it). Emulated
   * backends only.
   */
  readonly endpoint?: string;
  /** SDK attempts per request, first try included (S3 `maxAttempts`, Azure `maxTries`, GCS `maxRetries + 1`). */
  readonly attempts?: number;
}

/**
 * One storage backend for a test file: memfs, a temporary folder, or an emulator (s3rver, Azurite, the GCS
 * server) started once and shared by every root set made on it.
 */
export interface StorageBackend {
  readonly kind: BackendKind;
  /** `memfs`, `local disk`, `s3rver`, `Azurite`, `GCS server`. */
  readonly name: string;
  /** True when tests can set a file's modification time ({@link RootSet.touch}): memfs and local disk. */
  readonly settableMtime: boolean;
  /**
   * The emulator's HTTP endpoint (what a fault proxy forwards to); `undefined` for memfs and local disk.
   * Known once the backend is ready (inside tests and hooks).
   */
  readonly endpoint: string | undefined;
  /**
   * `count` fresh, empty roots (or one per name) that no other set shares, named `<component>1…` or by the
   * names given. Each root exists (its folder or bucket is there) but holds nothing.
   */
  roots(component: string, count?: number | readonly string[]): Promise<RootSet>;
  /**
   * A new `FileSystem` on any root of this backend, as a restarted node would open it. Pass it as an
   * engine's `openFileSystem` (it is bound).
   */
  readonly openFileSystem: (root: StorageRoot | string, overrides?: OpenOverrides) => FileSystem;
  /** Removes every root set made on this backend and stops its emulator (idempotent). */
  cleanup(): Promise<void>;
}

/** Roots made for one test by {@link StorageBackend.roots}. */
export interface RootSet {
  readonly backend: StorageBackend;
  /** Canonical URLs of the roots, in order. */
  readonly urls: readonly string[];
  /** `backend.openFileSystem`, ready to pass as an engine's `openFileSystem`. */
  readonly openFileSystem: (root: StorageRoot | string) => FileSystem;
  /** A file system per root, in order (new instances on every call). */
  fileSystems(): FileSystem[];
  /**
   * A root URL on this backend that does not exist and that this set never creates: a folder never made
   * (memfs, local disk) or a bucket/container that is not there (emulators), so its `probe()` says
   * `{ exists: false }`.
   */
  absentUrl(name: string): string;
  /** Writes files into a root (its folders are created as needed). */
  write(url: string, files: Readonly<Record<string, FileSpec>>): Promise<void>;
  /** Sets a file's modification time. Throws `FsError("Unsupported")` where {@link StorageBackend.settableMtime} is false. */
  touch(url: string, key: string, mtimeMs: number): Promise<void>;
  /** Every key under `prefix` in a root, sorted. */
  keys(url: string, prefix?: string): Promise<string[]>;
  /**
   * Everything stored under this set (folders included where the backend has them) with sizes and
   * modification times, for before/after comparisons ("touches nothing").
   */
  snapshot(): Promise<Record<string, unknown>>;
  /** The folder of a root (or of an absent root) on local disk; throws for other backends. */
  localPath(url: string): string;
  /** Removes every file of this set (idempotent). */
  cleanup(): Promise<void>;
}
