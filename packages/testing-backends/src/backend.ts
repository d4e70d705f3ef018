import { type FileSystem, InvalidArgumentError, listAll, parseStorageUrl } from "@proximadb/core";
import pLimit from "p-limit";
import type { BackendDriver } from "./driver.js";
import { localDriver } from "./drivers/local.js";
import { memoryDriver } from "./drivers/memory.js";
import { azureDriver, gcsDriver, mtimeUnsupported, s3Driver } from "./drivers/object-stores.js";
import {
  BACKEND_KINDS,
  BACKEND_NAMES,
  type BackendKind,
  type RootSet,
  type StorageBackend,
} from "./types.js";

const NAME = /^[a-z0-9][a-z0-9-]{0,39}$/;
/** Writes in flight at once when filling a root (object stores answer one request at a time per key). */
const WRITE_CONCURRENCY = 16;

async function driverFor(kind: BackendKind): Promise<BackendDriver> {
  switch (kind) {
    case "memory":
      return memoryDriver();
    case "local":
      return localDriver();
    case "s3":
      return s3Driver();
    case "azure":
      return azureDriver();
    case "gcs":
      return gcsDriver();
  }
}

/** Throws `InvalidArgumentError` unless `kind` is a {@link BackendKind}. */
export function assertBackendKind(kind: unknown): asserts kind is BackendKind {
  if (!BACKEND_KINDS.includes(kind as BackendKind))
    throw new InvalidArgumentError(
      `unknown backend ${JSON.stringify(kind)}: expected one of ${BACKEND_KINDS.join(", ")}`,
    );
}

function rootNames(component: string, count: number | readonly string[]): string[] {
  if (typeof count === "number") {
    if (!(Number.isInteger(count) && count >= 1 && count <= 100))
      throw new InvalidArgumentError(`root count must be a whole number from 1 to 100, got ${count}`);
    if (!NAME.test(component))
      throw new InvalidArgumentError(
        `component ${JSON.stringify(component)} must be a short lowercase word (a-z, 0-9, -)`,
      );
    return Array.from({ length: count }, (_, i) => `${component}${i + 1}`);
  }
  if (count.length === 0) throw new InvalidArgumentError("a root set needs at least one root name");
  for (const name of count)
    if (!NAME.test(name))
      throw new InvalidArgumentError(
        `root name ${JSON.stringify(name)} must be a short lowercase word (a-z, 0-9, -)`,
      );
  if (new Set(count).size !== count.length)
    throw new InvalidArgumentError(`root names must differ: ${count.join(", ")}`);
  return [...count];
}

/** Builds the public {@link StorageBackend} on a driver. */
export function makeBackend(driver: BackendDriver): StorageBackend {
  const sets = new Map<string, RootSet>();
  let seq = 0;
  let stopped: Promise<void> | undefined;
  const openFileSystem: StorageBackend["openFileSystem"] = (root, overrides) => driver.open(root, overrides);

  const backend: StorageBackend = {
    kind: driver.kind,
    name: BACKEND_NAMES[driver.kind],
    settableMtime: driver.settableMtime,
    endpoint: driver.endpoint,
    openFileSystem,
    async roots(component, count = 2) {
      if (stopped) throw new InvalidArgumentError(`the ${backend.name} backend was cleaned up`);
      const names = rootNames(component, count);
      const id = `s${++seq}`;
      const urls = (await driver.createRoots(id, names)).map((u) => parseStorageUrl(u).url);
      const own = new Set(urls);
      const absent = new Map<string, string>();
      const inSet = (url: string): string => {
        const canonical = parseStorageUrl(url).url;
        if (!own.has(canonical) && ![...absent.values()].includes(canonical))
          throw new InvalidArgumentError(`${canonical} is not a root (or absent root) of this set`);
        return canonical;
      };
      const withFs = async <T>(url: string, use: (fs: FileSystem) => Promise<T>): Promise<T> => {
        const fs = driver.open(inSet(url));
        try {
          return await use(fs);
        } finally {
          await fs.close();
        }
      };
      let removed: Promise<void> | undefined;
      const set: RootSet = {
        backend,
        urls,
        openFileSystem: (root) => driver.open(root),
        fileSystems: () => urls.map((u) => driver.open(u)),
        absentUrl(name) {
          rootNames(name, [name]);
          if (names.includes(name)) throw new InvalidArgumentError(`${name} is a root of this set`);
          let url = absent.get(name);
          if (url === undefined) {
            url = parseStorageUrl(driver.absentUrl(id, name)).url;
            absent.set(name, url);
          }
          return url;
        },
        write: (url, files) =>
          withFs(url, async (fs) => {
            const limit = pLimit(WRITE_CONCURRENCY);
            await Promise.all(
              Object.entries(files).map(([key, spec]) =>
                limit(async () => {
                  const data = typeof spec === "string" || spec instanceof Uint8Array ? spec : spec.data;
                  await fs.write(key, data);
                  const mtime = typeof spec === "object" && "mtimeMs" in spec ? spec.mtimeMs : undefined;
                  if (mtime !== undefined && driver.touch) await driver.touch(inSet(url), key, mtime);
                }),
              ),
            );
          }),
        async touch(url, key, mtimeMs) {
          const root = inSet(url);
          if (!driver.touch) throw mtimeUnsupported(root);
          await driver.touch(root, key, mtimeMs);
        },
        keys: (url, prefix = "") =>
          withFs(url, async (fs) => (await listAll(fs, prefix)).files.map((f) => f.key).sort()),
        snapshot: () => driver.snapshot(id),
        localPath(url) {
          const root = inSet(url);
          if (!driver.localPath)
            throw new InvalidArgumentError(`${root} is on ${backend.name}, not on local disk`);
          return driver.localPath(root);
        },
        cleanup() {
          removed ??= (async () => {
            sets.delete(id);
            await driver.removeSet(id);
          })();
          return removed;
        },
      };
      sets.set(id, set);
      return set;
    },
    cleanup() {
      stopped ??= (async () => {
        const results = await Promise.allSettled([...sets.values()].map((s) => s.cleanup()));
        await driver.stop();
        const failed = results.find((r) => r.status === "rejected");
        if (failed) throw (failed as PromiseRejectedResult).reason;
      })();
      return stopped;
    },
  };
  return backend;
}

/**
 * Opens one backend of its own: memfs, a temporary folder, or a freshly started emulator. Root sets made on
 * it stay until their `cleanup()`; `backend.cleanup()` removes them all and stops the emulator. Inside
 * vitest suites, {@link describeOnBackends} does this bookkeeping.
 *
 * @example
 * const backend = await openBackend("s3");
 * const roots = await backend.roots("wal", 2);
 * const wal = await Wal.open({ service: serviceOver(roots.urls), openFileSystem: roots.openFileSystem });
 * // ...
 * await backend.cleanup();
 */
export async function openBackend(kind: BackendKind): Promise<StorageBackend> {
  assertBackendKind(kind);
  return makeBackend(await driverFor(kind));
}
