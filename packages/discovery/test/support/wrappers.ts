import { type FileSystem, FsError, type ListOptions, type ListPage } from "@proximadb/core";
import { forwarding } from "@proximadb/testing";

export { forwarding };

/**
 * Wraps a file system, forwarding everything; `list` can be made to fail at a given page, and every
 * LIST page is counted (the independent count the report's `requests` is checked against).
 */
export function instrument(
  inner: FileSystem,
  options: { failOnPage?: number; kind?: FsError["kind"] } = {},
): FileSystem & { pages: number } {
  const wrapper = forwarding<{ pages: number }>(inner);
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
  return wrapper;
}
