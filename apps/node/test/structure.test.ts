import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

function sources(dir: string = SRC): { path: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith(".ts")
        ? [{ path: relative(SRC, join(dir, e.name)), text: readFileSync(join(dir, e.name), "utf8") }]
        : [],
  );
}

/** Files outside `src/engines/`: they work on the RecordEngine and ComponentStore shapes only. */
const outsideEngines = () => sources().filter((f) => !f.path.startsWith("engines/"));

describe("apps/node/src structure", () => {
  it("keeps every file at 400 lines or fewer", () => {
    const long = sources()
      .map((f) => ({ path: f.path, lines: f.text.split("\n").length - 1 }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });

  it("branches on an engine kind only inside the engine registry", () => {
    const branch = /[=!]==\s*"(viper|lsm)"|"(viper|lsm)"\s*[=!]==|case\s+"(viper|lsm)"/;
    expect(
      outsideEngines()
        .filter((f) => branch.test(f.text))
        .map((f) => f.path),
    ).toEqual([]);
  });

  it("reaches engine internals (base, collectionDir, constructors) only inside src/engines", () => {
    const internals =
      /\.base\b|\bwal\.engine\b|collectionDir|WriteAheadLog\.open|\b(ViperEngine|LsmEngine|EngineBase)\b|^import \{[^}]*\} from "@proximadb\/(viper|lsm|engine)"/m;
    const hits = outsideEngines().filter((f) =>
      f.text.split("\n").some((line) => !line.startsWith("import type") && internals.test(line)),
    );
    expect(hits.map((f) => f.path)).toEqual([]);
  });
});
