import type { FileSystem } from "@proximadb/core";

/**
 * A file system whose `move` (an engine's commit) waits while `gate.shut` is pending: a writer paused just
 * before it commits, for tests of what another writer does meanwhile.
 *
 * @example
 * let open!: () => void;
 * const gate = { shut: new Promise<void>((r) => (open = r)) };
 * const fs = gatedMoves(real, gate); // commits wait …
 * open(); // … until now
 */
export function gatedMoves(fs: FileSystem, gate: { shut?: Promise<void> }): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "move") {
        return async (...args: unknown[]) => {
          await gate.shut;
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
}

/**
 * A file system whose writes (`write`, `writeStream`) of keys that `match` picks wait while `gate.shut`
 * is pending. By default the keys in a `_staging/` folder: a writer paused just before it stages, so its
 * staged file appears only after what another writer does meanwhile (a takeover's fence).
 */
export function gatedWrites(
  fs: FileSystem,
  gate: { shut?: Promise<void> },
  match: (key: string) => boolean = (key) => key.includes("/_staging/"),
): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "write" || prop === "writeStream") {
        return async (key: string, ...rest: unknown[]) => {
          if (match(key)) await gate.shut;
          return value.call(target, key, ...rest);
        };
      }
      return value.bind(target);
    },
  });
}
