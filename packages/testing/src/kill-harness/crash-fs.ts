import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileSystem } from "@proximadb/core";

/** The {@link FileSystem} methods that change storage: the points a crash child can die at. */
export const MUTATING_FS_OPERATIONS: ReadonlySet<string> = new Set([
  "write",
  "writeStream",
  "move",
  "delete",
  "deleteMany",
  "deletePrefix",
]);

/** Where {@link crashingFileSystems} kills its process: the `killAt`-th mutating call, before or after it runs. */
export interface CrashPoint {
  /** 1-based count of mutating calls made while armed. */
  readonly killAt: number;
  readonly when: "before" | "after";
}

/**
 * The crash point a child reads from its command line: `killAt` a decimal count, `when` `"before"`
 * (anything else, or nothing, means `"after"`).
 *
 * @example
 * const crash = crashingFileSystems(crashPointOf(killAtArg, whenArg));
 */
export function crashPointOf(killAt: string, when: string | undefined): CrashPoint {
  return { killAt: Number(killAt), when: when === "before" ? "before" : "after" };
}

/** The wrapper factory of {@link crashingFileSystems} and the counter it shares across every wrapped file system. */
export interface CrashingFileSystems {
  /** Wraps `fs`: its mutating calls count towards the crash point while armed. */
  wrap(fs: FileSystem): FileSystem;
  /** Starts counting (setup before this is never killed). */
  arm(): void;
  /** Stops counting. */
  disarm(): void;
  /** Mutating calls made while armed so far. */
  readonly ops: number;
}

/**
 * For crash-test children: wraps file systems so the process SIGKILLs itself just before or just after its
 * `killAt`-th mutating storage call made while armed. A child that gets to the end prints `ops` so the test
 * can aim its next kill within the real number of calls.
 *
 * @example
 * const crash = crashingFileSystems({ killAt: 3, when: "after" });
 * const engine = await open({ openFileSystem: (root) => crash.wrap(new LocalFileSystem(root)) });
 * crash.arm();
 * await engine.compact("c");
 * crash.disarm();
 * process.stdout.write(JSON.stringify({ ops: crash.ops }));
 */
export function crashingFileSystems(point: CrashPoint): CrashingFileSystems {
  let armed = false;
  let ops = 0;
  const die = () => process.kill(process.pid, "SIGKILL");
  return {
    wrap(fs) {
      return new Proxy(fs, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== "function") return value;
          if (!MUTATING_FS_OPERATIONS.has(String(prop))) return value.bind(target);
          return async (...args: unknown[]) => {
            if (armed && ++ops === point.killAt && point.when === "before") die();
            const result = await value.apply(target, args);
            if (armed && ops === point.killAt && point.when === "after") die();
            return result;
          };
        },
      });
    },
    arm: () => {
      armed = true;
    },
    disarm: () => {
      armed = false;
    },
    get ops() {
      return ops;
    },
  };
}

/** What {@link crashChildBundle} needs: the child's entry, the bundle to write and the packages left unbundled. */
export interface CrashChildBundle {
  readonly entry: string;
  readonly outfile: string;
  /** Packages loaded at run time from node_modules (native addons, packages that read files next to them). */
  readonly external?: readonly string[];
}

/**
 * The esbuild options that bundle a TypeScript crash child into one ESM file for plain `node` (spawning a
 * bundle costs far less CPU than tsx's per-module transform). Pass the result to esbuild's `build`.
 */
export function crashChildBundle(options: CrashChildBundle) {
  return {
    entryPoints: [options.entry],
    outfile: options.outfile,
    bundle: true,
    platform: "node" as const,
    format: "esm" as const,
    target: "node20",
    conditions: ["@proximadb/source"],
    external: [...(options.external ?? [])],
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    logLevel: "warning" as const,
  };
}

/**
 * The crash child of a package, for a test at `<package>/test/<name>.test.ts`: its entry
 * `test/crash/child.ts`, its bundle `node_modules/.cache/<bundleName>.mjs` of the package, and the
 * esbuild options that write that bundle (`external` left unbundled, see {@link crashChildBundle}).
 *
 * @example
 * const child = crashChildFiles(import.meta.url, "viper-crash-child", ["parquet-wasm"]);
 * beforeAll(() => build(child.bundle));
 * await runChild(nodeChild(child.outfile, args, { cwd: child.packageDir }));
 */
export function crashChildFiles(
  testFileUrl: string | URL,
  bundleName: string,
  external: readonly string[] = [],
) {
  const here = dirname(fileURLToPath(testFileUrl));
  const packageDir = join(here, "..");
  const entry = join(here, "crash", "child.ts");
  const outfile = join(packageDir, "node_modules", ".cache", `${bundleName}.mjs`);
  return { entry, outfile, packageDir, bundle: crashChildBundle({ entry, outfile, external }) };
}
