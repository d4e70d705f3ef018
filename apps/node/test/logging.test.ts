import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfigText } from "../src/config.js";
import { embeddedDefaultToml } from "../src/default-config.js";
import { resolveLogFormat } from "../src/logging.js";
import { type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

/** A pretty line: `[HH:MM:ss.mmm] LEVEL (proximadb): message {fields}`. */
const PRETTY = /^\[\d\d:\d\d:\d\d\.\d{3}\] (DEBUG|INFO|WARN|ERROR) \(proximadb\): \S/;

const isJson = (line: string) => {
  try {
    return typeof JSON.parse(line) === "object";
  } catch {
    return false;
  }
};

/** Runs `serve` with extra arguments until it listens, then stops it; resolves to its log lines. */
async function logsOf(args: string[], cwd = tempDir()): Promise<{ lines: string[]; code: unknown }> {
  const node: RunningNode = await startNode(cwd, args);
  const code = await node.stop("SIGTERM");
  return { lines: node.logs.filter((l) => l.length > 0), code };
}

describe("log format: which one", () => {
  it.each([
    [undefined, "auto", true, "pretty"],
    [undefined, "auto", false, "json"],
    [undefined, "pretty", false, "pretty"],
    [undefined, "json", true, "json"],
    ["json", "pretty", true, "json"],
    ["pretty", "json", false, "pretty"],
  ] as const)("flag %s, [log] format %s, stdout a TTY %s: %s", (flag, configured, tty, want) => {
    expect(resolveLogFormat(flag, configured, tty)).toBe(want);
  });

  it("[log] format defaults to auto and refuses an unknown value naming the key", () => {
    expect(parseConfigText(embeddedDefaultToml(), { baseDir: "/x", source: "t" }).log.format).toBe("auto");
    let err: unknown;
    try {
      parseConfigText(`${embeddedDefaultToml()}\n[log]\nformat = "loud"\n`, { baseDir: "/x", source: "t" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).path).toBe("log.format");
  });
});

describe("serve --log-format", () => {
  const seen: Record<string, { lines: string[]; code: unknown }> = {};
  beforeAll(async () => {
    seen.pretty = await logsOf(["--log-format", "pretty"]);
    seen.json = await logsOf(["--log-format", "json"]);
    seen.none = await logsOf([]);
    const cwd = tempDir();
    writeFileSync(join(cwd, "p.toml"), `${embeddedDefaultToml()}\n[log]\nformat = "pretty"\n`);
    seen.configured = await logsOf(["--config", "p.toml"], cwd);
  }, 120_000);

  it("pretty: every line is a readable line, none is JSON", () => {
    expect(seen.pretty?.lines.length).toBeGreaterThan(3);
    for (const line of seen.pretty?.lines ?? []) {
      expect(line).toMatch(PRETTY);
      expect(isJson(line)).toBe(false);
    }
  });

  it("pretty: the start and the shutdown read as words with their fields", () => {
    const lines = seen.pretty?.lines ?? [];
    expect(
      lines.some((l) => /INFO \(proximadb\): listening \{"address":"http:\/\/127\.0\.0\.1:\d+"\}$/.test(l)),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/INFO \(proximadb\): stopped$/);
    expect(seen.pretty?.code).toBe(0);
  });

  it("json: every line is one JSON object with a message", () => {
    expect(seen.json?.lines.length).toBeGreaterThan(3);
    for (const line of seen.json?.lines ?? []) expect(JSON.parse(line)).toHaveProperty("msg");
  });

  it("without the flag, stdout not a terminal: JSON lines", () => {
    for (const line of seen.none?.lines ?? []) expect(isJson(line)).toBe(true);
    expect(seen.none?.lines.length).toBeGreaterThan(3);
  });

  it('[log] format = "pretty" in the configuration: readable lines', () => {
    expect(seen.configured?.lines.length).toBeGreaterThan(3);
    for (const line of seen.configured?.lines ?? []) expect(line).toMatch(PRETTY);
  });

  it("an unknown format is a usage error (exit 2), before any root is touched", async () => {
    const cwd = tempDir();
    const r = await runCli(["serve", "--port", "0", "--log-format", "xml"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--log-format");
    expect(readdirSync(cwd)).toEqual([]);
  });
});
