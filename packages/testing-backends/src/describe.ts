import { InvalidArgumentError } from "@proximadb/core";
import { afterAll, beforeAll, describe, onTestFinished } from "vitest";
import { assertBackendKind, openBackend } from "./backend.js";
import { BACKEND_NAMES, type BackendKind, type RootSet, type StorageBackend } from "./types.js";

/** Options of {@link describeOnBackends} and {@link useBackend}. */
export interface BackendSuiteOptions {
  /** Timeout of the hooks that start and stop emulators. Default 120 s (Azurite on a loaded machine). */
  readonly hookTimeoutMs?: number;
}

interface Shared {
  /** Starts the backend on first call (in a `beforeAll`, so filtered-out suites start nothing). */
  start(): Promise<StorageBackend>;
  started: Promise<StorageBackend> | undefined;
  /** Root sets made outside a test (in `beforeAll`, at suite level), by the handle that made them. */
  readonly suiteSets: Map<object, Set<RootSet>>;
}

// One backend of each kind per test file (vitest evaluates this module once per file), stopped by the
// file-level `afterAll` that the first `describeOnBackends`/`useBackend` of the file registers.
const shared = new Map<BackendKind, Shared>();
let teardownRegistered = false;

function inTest(cleanup: () => Promise<void>): boolean {
  try {
    onTestFinished(cleanup);
    return true;
  } catch {
    return false; // not inside a test or beforeEach: the suite's afterAll removes it
  }
}

function sharedOf(kind: BackendKind): Shared {
  let s = shared.get(kind);
  if (!s) {
    const entry: Shared = {
      started: undefined,
      start() {
        entry.started ??= openBackend(kind);
        return entry.started;
      },
      suiteSets: new Map(),
    };
    s = entry;
    shared.set(kind, s);
  }
  return s;
}

async function stopShared(): Promise<void> {
  teardownRegistered = false;
  const all = [...shared.values()];
  shared.clear();
  const results = await Promise.allSettled(
    all.map(async (s) => {
      if (s.started) await (await s.started).cleanup();
    }),
  );
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
}

function registerTeardown(timeout: number): void {
  if (teardownRegistered) return;
  teardownRegistered = true;
  afterAll(stopShared, timeout);
}

/**
 * The backend of `kind` shared by this test file, as a handle usable at once: its emulator starts in a
 * `beforeAll` of the current suite and stops after the file. Root sets made inside a test (or a
 * `beforeEach`) are removed when that test finishes; those made in a `beforeAll` when the suite ends.
 * `endpoint` and `openFileSystem` work once the backend is ready (inside hooks and tests).
 *
 * @example
 * const s3 = useBackend("s3");
 * it("...", async () => {
 *   const roots = await s3.roots("lsm", 2);
 * });
 */
export function useBackend(kind: BackendKind, options: BackendSuiteOptions = {}): StorageBackend {
  assertBackendKind(kind);
  const timeout = options.hookTimeoutMs ?? 120_000;
  registerTeardown(timeout);
  const entry = sharedOf(kind);
  const token = {};
  let ready: StorageBackend | undefined;
  const started = () => {
    if (!ready)
      throw new InvalidArgumentError(
        `the ${BACKEND_NAMES[kind]} backend is not started yet: use it inside a test or a hook`,
      );
    return ready;
  };
  beforeAll(async () => {
    ready = await entry.start();
  }, timeout);
  afterAll(async () => {
    const own = entry.suiteSets.get(token);
    entry.suiteSets.delete(token);
    await Promise.all([...(own ?? [])].map((s) => s.cleanup()));
  }, timeout);

  return {
    kind,
    name: BACKEND_NAMES[kind],
    settableMtime: kind === "memory" || kind === "local",
    get endpoint() {
      return started().endpoint;
    },
    openFileSystem: (root, overrides) => started().openFileSystem(root, overrides),
    async roots(component, count) {
      const set = await (ready ?? (await entry.start())).roots(component, count);
      if (!inTest(() => set.cleanup())) {
        const own = entry.suiteSets.get(token) ?? new Set<RootSet>();
        entry.suiteSets.set(token, own);
        own.add(set);
      }
      return set;
    },
    async cleanup() {
      // The file's teardown stops the backend; here only this handle's suite-level sets go.
      const own = entry.suiteSets.get(token);
      entry.suiteSets.delete(token);
      await Promise.all([...(own ?? [])].map((s) => s.cleanup()));
    },
  };
}

/**
 * Runs the same suite on several backends: one `describe("<title> on <backend name>")` per kind, each
 * with a {@link useBackend} handle. Emulators start once per file; every test's root sets are removed
 * when it finishes.
 *
 * @example
 * describeOnBackends("WriteAheadLog", ["memory", "local", "s3"], (backend) => {
 *   it("replays what it appended after a restart", async () => {
 *     const roots = await backend.roots("wal", 2);
 *     const service = new AssignmentService({ components: { wal: { roots: roots.urls } } });
 *     const wal = await Wal.open({ service, openFileSystem: roots.openFileSystem });
 *     // ...
 *   });
 * });
 */
export function describeOnBackends(
  title: string,
  kinds: readonly BackendKind[],
  body: (backend: StorageBackend) => void,
  options: BackendSuiteOptions = {},
): void {
  if (kinds.length === 0)
    throw new InvalidArgumentError("describeOnBackends needs at least one backend kind");
  for (const kind of kinds) assertBackendKind(kind);
  if (new Set(kinds).size !== kinds.length)
    throw new InvalidArgumentError(`backend kinds listed twice: ${kinds.join(", ")}`);
  registerTeardown(options.hookTimeoutMs ?? 120_000);
  for (const kind of kinds) {
    describe(`${title} on ${BACKEND_NAMES[kind]}`, () => {
      body(useBackend(kind, options));
    });
  }
}
