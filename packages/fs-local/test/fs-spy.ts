/** A recording wrapper of `node:fs`'s promise API, shared by the fs-local tests that watch its calls. */
import * as nodeFs from "node:fs";
import type { FileHandle } from "node:fs/promises";
import type { FsModule } from "@proximadb/fs-local";

type Call = (...args: unknown[]) => unknown;

/**
 * `node:fs` with its promise API wrapped: `wrap(prop, real)` may replace any call (undefined: keep it);
 * otherwise every `sync()` of a handle that `open` returned is recorded as `fsync <path>`.
 * Paths are recorded by `rel`.
 */
export function recordingPromises(
  calls: string[],
  rel: (path: unknown) => string,
  wrap: (prop: string, real: Call, target: typeof nodeFs.promises) => Call | undefined,
): FsModule {
  const promises = new Proxy(nodeFs.promises, {
    get(target, prop: string) {
      const real = (target as unknown as Record<string, Call>)[prop] as Call;
      const own = wrap(prop, real, target);
      if (own) return own;
      if (prop === "open")
        return async (path: string, flags: string) => {
          const h = (await real.call(target, path, flags)) as FileHandle;
          const sync = h.sync.bind(h);
          h.sync = async () => {
            calls.push(`fsync ${rel(path)}`);
            return sync();
          };
          return h;
        };
      return real;
    },
  });
  return { promises } satisfies FsModule;
}
