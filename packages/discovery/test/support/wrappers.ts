import { type FileSystem, FsError, type ListOptions, type ListPage } from "@proximadb/core";

/**
 * Wraps a file system, forwarding everything; `list` can be made to fail at a given page, and every
 * LIST page is counted (the independent count the report's `requests` is checked against).
 */
export function instrument(
  inner: FileSystem,
  options: { failOnPage?: number; kind?: FsError["kind"] } = {},
): FileSystem & { pages: number } {
  const wrapper = Object.create(inner) as FileSystem & { pages: number };
  wrapper.pages = 0;
  let pageInCall = 0;
  wrapper.list = async function* (prefix: string, opts?: ListOptions): AsyncIterable<ListPage> {
    pageInCall = 0;
    for await (const page of inner.list(prefix, opts)) {
      pageInCall++;
      if (options.failOnPage !== undefined && pageInCall >= options.failOnPage) {
        throw new FsError(options.kind ?? "Transient", "connection reset while listing", {
          root: inner.root.url,
          status: 503,
        });
      }
      wrapper.pages++;
      yield page;
    }
  };
  // Methods of class instances need the real `this`.
  for (const m of [
    "probe",
    "stat",
    "exists",
    "read",
    "readStream",
    "write",
    "writeStream",
    "openAppend",
    "move",
    "delete",
    "deleteMany",
    "deletePrefix",
    "close",
  ] as const) {
    const fn = (inner as unknown as Record<string, (...a: unknown[]) => unknown>)[m];
    (wrapper as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => fn?.apply(inner, a);
  }
  return wrapper;
}
