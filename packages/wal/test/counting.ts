import type { AppendHandle, FileSystem } from "@proximadb/core";

/** Counts fsyncs of append handles and whole-object writes of a file system. */
export interface Counters {
  syncs: number;
  writes: number;
}

/** An append handle that forwards to `h`, with `over` in place of some of its operations. */
export function handleOver(h: AppendHandle, over: Partial<Omit<AppendHandle, "size">>): AppendHandle {
  return {
    get size() {
      return h.size;
    },
    write: over.write ?? ((d) => h.write(d)),
    sync: over.sync ?? (() => h.sync()),
    truncate: over.truncate ?? ((n) => h.truncate(n)),
    close: over.close ?? (() => h.close()),
  };
}

/**
 * Wraps a file system so that every handle `openAppend` opens passes through `wrap` (with its key), and
 * `write` through `onWrite` when given; everything else is the file system's own.
 */
export function wrapAppends(
  fs: FileSystem,
  wrap: (h: AppendHandle, key: string) => AppendHandle,
  onWrite?: () => void,
): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === "openAppend")
        return async (key: string): Promise<AppendHandle> => wrap(await target.openAppend(key), key);
      if (prop === "write" && onWrite)
        return (...args: Parameters<FileSystem["write"]>) => {
          onWrite();
          return target.write(...args);
        };
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** Wraps a file system so that fsyncs (append handles) and durable whole-key writes are counted. */
export function counting(fs: FileSystem, counters: Counters): FileSystem {
  return wrapAppends(
    fs,
    (h) =>
      handleOver(h, {
        sync: () => {
          counters.syncs++;
          return h.sync();
        },
      }),
    () => {
      counters.writes++;
    },
  );
}
