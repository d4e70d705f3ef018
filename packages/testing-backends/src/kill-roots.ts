import { InvalidArgumentError } from "@proximadb/core";
import { killLiveChildren } from "@proximadb/testing/kill-harness";
import { afterAll, beforeAll } from "vitest";
import { useBackend } from "./describe.js";
import type { RootSet } from "./types.js";

/** What {@link useKillRoots} gives a kill -9 suite. */
export interface KillRoots {
  /** The suite's local-disk roots (made once, before the suite's first test). */
  readonly roots: RootSet;
}

/**
 * The prologue of a kill -9 suite (children that write to local disk and are killed with SIGKILL):
 * local-disk roots of `component` made once for the suite (`count` of them, or one per given name),
 * and every child process still alive killed after the suite. Call it inside the suite's `describe`.
 *
 * @example
 * describe("crash safety", () => {
 *   const env = useKillRoots("lsm", 1);
 *   it("...", async () => { const url = env.roots.urls[0]; ... });
 * });
 */
export function useKillRoots(component: string, count: number | readonly string[]): KillRoots {
  const local = useBackend("local");
  let roots: RootSet | undefined;
  beforeAll(async () => {
    roots = await local.roots(component, count);
  });
  afterAll(() => {
    killLiveChildren();
  });
  return {
    get roots(): RootSet {
      if (!roots)
        throw new InvalidArgumentError("useKillRoots: the roots exist inside the suite's tests only");
      return roots;
    },
  };
}
