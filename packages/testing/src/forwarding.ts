import type { FileSystem } from "@proximadb/core";

/** The operations {@link forwarding} forwards (the optional ones only when `inner` has them). */
const FORWARDED = [
  "probe",
  "stat",
  "exists",
  "list",
  "read",
  "readStream",
  "write",
  "writeStream",
  "openAppend",
  "openReader",
  "copyFrom",
  "move",
  "delete",
  "deleteMany",
  "deletePrefix",
  "close",
] as const;

/**
 * A wrapper of `inner` that forwards every operation to it (class methods need the real `this`), for a
 * test to replace the ones it instruments; `T` is what the test adds.
 *
 * @example
 * const counted = forwarding<{ lists: number }>(real);
 * counted.lists = 0;
 * counted.list = (prefix, o) => (counted.lists++, real.list(prefix, o));
 */
export function forwarding<T extends object = object>(inner: FileSystem): FileSystem & T {
  const wrapper = Object.create(inner) as FileSystem & T;
  for (const m of FORWARDED) {
    const fn = (inner as unknown as Record<string, ((...a: unknown[]) => unknown) | undefined>)[m];
    if (typeof fn === "function")
      (wrapper as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => fn.apply(inner, a);
  }
  return wrapper;
}
