import type { FileSystem, PositionalReader, ReadRange } from "@proximadb/core";

/** One read of a data file: through `read` (with its range, if any) or a positional reader. */
export interface ReadEvent {
  readonly key: string;
  readonly via: "read" | "readStream" | "reader";
  /** Undefined for a read of the whole key. */
  readonly range: ReadRange | undefined;
}

/** Calls seen by a {@link countingFileSystem}, reset with {@link FsCounts.reset}. */
export interface FsCounts {
  lists: number;
  stats: number;
  readerOpens: number;
  readonly reads: ReadEvent[];
  reset(): void;
}

/** Counters shared by every file system a test wraps. */
export function fsCounts(): FsCounts {
  const counts: FsCounts = {
    lists: 0,
    stats: 0,
    readerOpens: 0,
    reads: [],
    reset() {
      counts.lists = 0;
      counts.stats = 0;
      counts.readerOpens = 0;
      counts.reads.length = 0;
    },
  };
  return counts;
}

/** Wraps a file system so that listings, stats and every read (positional readers included) are counted. */
export function countingFileSystem(fs: FileSystem, counts: FsCounts): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      switch (prop) {
        case "list":
          return (...args: unknown[]) => {
            counts.lists++;
            return value.apply(target, args);
          };
        case "stat":
        case "exists":
          return (...args: unknown[]) => {
            counts.stats++;
            return value.apply(target, args);
          };
        case "read":
        case "readStream":
          return (key: string, range?: ReadRange) => {
            counts.reads.push({ key, via: prop, range });
            return value.call(target, key, range);
          };
        case "openReader":
          return async (key: string): Promise<PositionalReader> => {
            counts.readerOpens++;
            const reader = (await value.call(target, key)) as PositionalReader;
            return {
              read: (offset: number, length: number) => {
                counts.reads.push({ key, via: "reader", range: { offset, length } });
                return reader.read(offset, length);
              },
              close: () => reader.close(),
            };
          };
        default:
          return value.bind(target);
      }
    },
  });
}

/** The same file system without `openReader`: reads go through ranged `read` (as on object stores). */
export function withoutReaders(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, prop, receiver) {
      if (prop === "openReader") return undefined;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
