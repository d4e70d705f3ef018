import { InvalidArgumentError } from "@proximadb/core";
import { afterEach, beforeEach } from "vitest";
import type { RootSet, StorageBackend } from "./types.js";

/** What {@link rootsPerTest} gives a suite: the current test's roots and what it opened. */
export interface PerTestRoots<T extends { close(): Promise<void> }> {
  /** The current test's root set (fresh before each test). */
  readonly tier: RootSet;
  /** What the test opened: each is closed, in order, after the test. */
  readonly opened: T[];
}

/**
 * Before each test of the suite, `count` fresh roots of `component` on `backend`; after each, closes
 * every entry of `opened` (by `options.close` when given, e.g. an engine's close without a final
 * flush; with `ignoreCloseErrors`, a failing close is passed over).
 *
 * @example
 * describeOnBackends("WriteAheadLog", ["memory", "s3"], (backend) => {
 *   const env = rootsPerTest<WriteAheadLog>(backend, "wal", 2);
 *   it("...", async () => {
 *     const wal = await WriteAheadLog.open({ openFileSystem: env.tier.openFileSystem, ... });
 *     env.opened.push(wal);
 *   });
 * });
 */
export function rootsPerTest<T extends { close(): Promise<void> }>(
  backend: StorageBackend,
  component: string,
  count: number,
  options: { readonly ignoreCloseErrors?: boolean; readonly close?: (x: T) => Promise<void> } = {},
): PerTestRoots<T> {
  let tier: RootSet | undefined;
  const opened: T[] = [];
  beforeEach(async () => {
    tier = await backend.roots(component, count);
  });
  afterEach(async () => {
    const close = options.close ?? ((x: T) => x.close());
    for (const x of opened.splice(0)) {
      if (options.ignoreCloseErrors) await close(x).catch(() => undefined);
      else await close(x);
    }
  });
  return {
    get tier() {
      if (!tier) throw new InvalidArgumentError("rootsPerTest: the roots exist inside a test only");
      return tier;
    },
    opened,
  };
}
