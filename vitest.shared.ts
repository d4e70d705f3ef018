import { defineProject } from "vitest/config";

/** Resolve workspace packages to their TypeScript sources (the `@proximadb/source` export condition). */
export const sourceResolve = { conditions: ["@proximadb/source"] };

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
 * The vitest project of one package: `test/**\/*.test.ts`, sources resolved through the
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
      ...(globalSetup === undefined ? {} : { globalSetup: [globalSetup] }),
      ...(testTimeout === undefined ? {} : { testTimeout }),
      ...(hookTimeout === undefined ? {} : { hookTimeout }),
    },
  });
}
