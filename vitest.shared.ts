import { configDefaults, defineProject } from "vitest/config";

/** Resolve workspace packages to their TypeScript sources (the `@proximadb/source` export condition). */
export const sourceResolve = { conditions: ["@proximadb/source"] };

/**
 * Long scenario tests (`test/**\/*.long.test.ts`) run only with `PROXIMADB_LONG_TESTS=1`: `pnpm test:long`
 * runs them (CI runs it after `pnpm test`), so that `pnpm test` stays within its time budget.
 */
export const LONG_TESTS = process.env.PROXIMADB_LONG_TESTS === "1";

/** What one package's vitest project sets beyond the shared defaults. */
export interface PackageProjectOptions {
  /** A globalSetup file (relative to the package), e.g. one emulator for the whole project. */
  readonly globalSetup?: string;
  /** Per-test timeout in ms (vitest's default when absent). */
  readonly testTimeout?: number;
  /** Hook timeout in ms; defaults to `testTimeout`. */
  readonly hookTimeout?: number;
}

/**
 * The vitest project of one package: `test/**\/*.test.ts` (without the `*.long.test.ts` files unless
 * {@link LONG_TESTS}), sources resolved through the
 * `@proximadb/source` condition, plus the package's own globalSetup and timeouts.
 */
export function packageProject(name: string, options: PackageProjectOptions = {}) {
  const { globalSetup, testTimeout, hookTimeout = testTimeout } = options;
  return defineProject({
    resolve: sourceResolve,
    ssr: { resolve: sourceResolve },
    test: {
      name,
      include: ["test/**/*.test.ts"],
      exclude: LONG_TESTS ? configDefaults.exclude : [...configDefaults.exclude, "test/**/*.long.test.ts"],
      ...(globalSetup === undefined ? {} : { globalSetup: [globalSetup] }),
      ...(testTimeout === undefined ? {} : { testTimeout }),
      ...(hookTimeout === undefined ? {} : { hookTimeout }),
    },
  });
}
