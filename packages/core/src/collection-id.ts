import { InvalidCollectionIdError } from "./errors.js";

declare const collectionIdBrand: unique symbol;

/**
 * A validated collection id: 1–128 characters from `[A-Za-z0-9_-]`, not starting with `_` or `-`.
 * These rules are what keep a collection inside its own directory on every backend.
 */
export type CollectionId = string & { readonly [collectionIdBrand]: true };

/** Longest allowed collection id. */
export const MAX_COLLECTION_ID_LENGTH = 128;

const VALID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Why `id` is not a valid collection id, or `undefined` when it is. */
export function collectionIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return "must be a string";
  if (id.length === 0) return "must not be empty";
  if (id.length > MAX_COLLECTION_ID_LENGTH)
    return `must be at most ${MAX_COLLECTION_ID_LENGTH} characters (got ${id.length})`;
  if (id.startsWith("_")) return "must not start with '_' (reserved for markers and staging)";
  if (id.startsWith("-")) return "must not start with '-'";
  if (!VALID.test(id)) {
    const bad = [...id].find((c) => !/[A-Za-z0-9_-]/.test(c)) ?? "";
    const shown = bad === "\0" ? "NUL" : JSON.stringify(bad);
    return `may contain only letters, digits, '_' and '-' (found ${shown})`;
  }
  return undefined;
}

/** True when `id` is a valid {@link CollectionId}. */
export function isCollectionId(id: unknown): id is CollectionId {
  return collectionIdProblem(id) === undefined;
}

/** Returns `id` as a {@link CollectionId} or throws {@link InvalidCollectionIdError}. */
export function parseCollectionId(id: string): CollectionId {
  const problem = collectionIdProblem(id);
  if (problem !== undefined) throw new InvalidCollectionIdError(String(id), problem);
  return id as CollectionId;
}
