import type { AppendHandle, FileSystem } from "@proximadb/core";

/** Counts fsyncs of append handles and whole-object writes of a file system. */
export interface Counters {
  syncs: number;
  writes: number;
}

/** Wraps a file system so that fsyncs (append handles) and durable whole-key writes are counted. */
export function counting(fs: FileSystem, counters: Counters): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      if (prop === "openAppend") {
        return async (key: string): Promise<AppendHandle> => {
          const h = await target.openAppend(key);
          return {
            get size() {
              return h.size;
            },
            write: (d) => h.write(d),
            sync: () => {
              counters.syncs++;
              return h.sync();
            },
            truncate: (n) => h.truncate(n),
            close: () => h.close(),
          };
        };
      }
      if (prop === "write") {
        return (...args: Parameters<FileSystem["write"]>) => {
          counters.writes++;
          return target.write(...args);
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
