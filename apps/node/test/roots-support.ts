/**
 * Support for the "roots never forget" scenarios (issue #13): a deployment on local folders driven
 * through the built binary, a ledger of every acknowledged record, and snapshots of what is on disk.
 */
import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ChildProcessError, nodeChild, startChild } from "@proximadb/testing/kill-harness";
import { afterAll, expect, it } from "vitest";
import { embeddedDefaultToml } from "../src/default-config.js";
import { CLI, type RunResult, type RunningNode, runCli, startNode, tempDir } from "./helpers.js";

export const DIM = 4;
/** The five components, each with a root on each of the three disks. */
export const COMPONENTS = ["wal", "viper", "lsm", "index", "metadata"];
export type Response = Awaited<ReturnType<RunningNode["request"]>>;

/** Deterministic vector of a record (exact in float32). */
export function vectorOf(collection: string, record: number): number[] {
  let h = 0;
  for (const ch of collection) h = (h * 31 + ch.charCodeAt(0)) % 997;
  return Array.from({ length: DIM }, (_, i) => Math.fround(h * 1000 + record + i / 4));
}

/**
 * The embedded default configuration (3 disks × 5 components under ./data, every component round-robin,
 * so placements are known: collection `col-i` has its WAL and metadata on disk `i % 3 + 1`, and its
 * engine on the next disk of that engine's turn), edited, as a file in `dir`.
 */
export function writeConfig(dir: string, edit: (toml: string) => string = (t) => t): string {
  const path = join(dir, "proximadb.toml");
  const roundRobin = embeddedDefaultToml().replace(
    'distribution_strategy = "Hash"\ncollection_affinity = true',
    'distribution_strategy = "RoundRobin"',
  );
  if (roundRobin.includes('"Hash"')) throw new Error("the embedded default changed: update writeConfig");
  writeFileSync(path, edit(roundRobin));
  return path;
}

/** Removes every root of one disk (`disk2` or `disk3`: not the first) from every component's list. */
export function withoutDisk(disk: string): (toml: string) => string {
  return (t) => t.replace(new RegExp(`, "file://data/${disk}/[a-z]+"`, "g"), "");
}

/** The collections the scenarios create: both engines, round-robin over the three disks. */
export const COLLECTIONS = ["col-0", "col-1", "col-2", "col-3", "col-4", "col-5"];
export const engineOf = (id: string) => (Number(id.slice(-1)) % 2 === 0 ? "viper" : "lsm");

/**
 * Every record a node acknowledged (200), by collection: what must be readable again, exactly, once the
 * roots that hold it are back.
 */
export class Ledger {
  readonly acked = new Map<string, Set<number>>();

  /** Writes records `from`…`from + count - 1` of `collection`; the ones acknowledged join the ledger. */
  async put(node: RunningNode, collection: string, from: number, count: number): Promise<Response> {
    const records = Array.from({ length: count }, (_, k) => ({
      id: `r${from + k}`,
      vector: vectorOf(collection, from + k),
      metadata: { collection, r: from + k },
    }));
    const res = await node.request("POST", `/collections/${collection}/records`, { records });
    if (res.status === 200) {
      const set = this.acked.get(collection) ?? new Set<number>();
      for (let k = 0; k < count; k++) set.add(from + k);
      this.acked.set(collection, set);
    }
    return res;
  }

  /** How many records were acknowledged (of the given collections, or all). */
  count(collections?: readonly string[]): number {
    let n = 0;
    for (const [c, set] of this.acked) if (!collections || collections.includes(c)) n += set.size;
    return n;
  }

  /** Reads back every acknowledged record (of the given collections); returns what is wrong. */
  async verify(
    node: RunningNode,
    collections?: readonly string[],
  ): Promise<{ checked: number; wrong: string[] }> {
    const wrong: string[] = [];
    let checked = 0;
    for (const [c, set] of this.acked) {
      if (collections && !collections.includes(c)) continue;
      const ids = [...set];
      for (let i = 0; i < ids.length; i += 16) {
        await Promise.all(
          ids.slice(i, i + 16).map(async (r) => {
            const res = await node.request("GET", `/collections/${c}/records/r${r}`);
            checked++;
            const want = { id: `r${r}`, vector: vectorOf(c, r), metadata: { collection: c, r } };
            if (res.status !== 200 || JSON.stringify(res.json) !== JSON.stringify(want))
              wrong.push(`${c}/r${r}: ${res.status} ${res.text.slice(0, 120)}`);
          }),
        );
      }
    }
    return { checked, wrong };
  }
}

/** Creates the scenario's collections and writes `perCollection` records into each (half flushed). */
export async function populate(
  node: RunningNode,
  ledger: Ledger,
  perCollection = 60,
  ids: readonly string[] = COLLECTIONS,
): Promise<Record<string, Response>> {
  const created: Record<string, Response> = {};
  for (const id of ids)
    created[id] = await node.request("POST", "/collections", { id, engine: engineOf(id), dimension: DIM });
  for (const id of ids) {
    await ledger.put(node, id, 0, perCollection / 2);
    await node.request("POST", `/collections/${id}/flush`);
    await ledger.put(node, id, perCollection / 2, perCollection / 2);
  }
  return created;
}

/** Every file under `dir` with its size and content hash (to show that nothing was written). */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out[`${relative(dir, p)}/`] = "dir";
        walk(p);
      } else
        out[relative(dir, p)] =
          `${statSync(p).size}:${createHash("sha1").update(readFileSync(p)).digest("hex")}`;
    }
  };
  walk(dir);
  return out;
}

/** A `serve` that exited before listening, or one that is listening. */
export type ServeOutcome =
  | { listening: true; node: RunningNode }
  | { listening: false; code: number | string | null; stderr: string; stdout: string };

/** Starts `serve`, resolving with the node once it listens, or with its exit when it refuses to start. */
export async function tryServe(cwd: string, args: string[] = []): Promise<ServeOutcome> {
  try {
    return { listening: true, node: await startNode(cwd, args) };
  } catch (err) {
    // startNode runs serve through the kill harness: a serve that exits before listening is a
    // ChildProcessError carrying its exit and the tail of its stderr.
    if (err instanceof ChildProcessError && err.exit)
      return { listening: false, code: err.exit.code, stderr: err.stderrTail, stdout: "" };
    return { listening: false, code: null, stderr: String(err), stdout: "" };
  }
}

/**
 * Starts `serve` with extra environment (through the kill harness) and resolves at the first stdout or
 * stderr line `until` accepts (or at exit); the child keeps running.
 */
export async function spawnServe(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  until: (line: string) => boolean,
): Promise<{ child: ChildProcess; line: string | undefined; exited: Promise<number | string | null> }> {
  const child = startChild(nodeChild(CLI, ["serve", "--port", "0", ...args], { cwd, env }), {
    timeoutMs: 15 * 60_000,
    stderrTailChars: Number.POSITIVE_INFINITY,
  });
  const exited = child.exited.then((e) => e.code ?? e.signal);
  // The harness reads stdout line by line and keeps stderr as a tail: stderr lines are watched here too
  // (a second listener; it reads nothing away from the harness), so the caller acts at once.
  const line = await new Promise<string | undefined>((resolve) => {
    const offStdout = child.onLine((l) => {
      if (until(l)) done(l);
    });
    const onStderr = (chunk: Buffer | string) => {
      const hit = chunk.toString().split("\n").find(until);
      if (hit !== undefined) done(hit);
    };
    const done = (l: string | undefined) => {
      offStdout();
      child.process.stderr?.off("data", onStderr);
      resolve(l);
    };
    child.process.stderr?.on("data", onStderr);
    const early = child.lines.find(until);
    if (early !== undefined) done(early);
    exited.then(() => done(undefined));
  });
  return { child: child.process, line, exited };
}

/** Polls `check` (every 50 ms, at most `tries` times) until it is true; resolves to the last answer. */
export async function eventually(check: () => Promise<boolean>, tries = 200): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** What {@link Ledger.verify} found. */
export type ReadBack = { checked: number; wrong: string[] };

/** Every acknowledged record read back exactly, and `checked` of them. */
export function expectReadBack(back: ReadBack, checked: number): void {
  expect(back.wrong).toEqual([]);
  expect(back.checked).toBe(checked);
}

/**
 * The `it` that ends a scenario: `seen.back` (read when the `it` runs, after `beforeAll`) holds every
 * acknowledged record read back exactly, `checked` of them. Its title is `<title> (<checked>)`.
 */
export function itReadsBack(title: string, seen: { readonly back: ReadBack }, checked: number): void {
  it(`${title} (${checked})`, () => expectReadBack(seen.back, checked));
}

/**
 * One scenario's deployment in `cwd` (config `args`): the nodes it starts, SIGKILLed after the suite if
 * still running, its ledger and its CLI runs. Construct it inside the `describe`.
 */
export class Scenario {
  readonly ledger = new Ledger();
  private readonly running: RunningNode[] = [];

  constructor(
    readonly cwd: string,
    readonly args: string[] = ["--config", "proximadb.toml"],
  ) {
    afterAll(() => {
      for (const n of this.running) if (n.child.exitCode === null) n.child.kill("SIGKILL");
    });
  }

  /** A scenario in a fresh temporary folder whose name starts with `prefix`. */
  static inTempDir(prefix: string, args?: string[]): Scenario {
    return new Scenario(tempDir(prefix), args);
  }

  /** A node to kill after the suite. */
  track<T extends RunningNode>(node: T): T {
    this.running.push(node);
    return node;
  }

  /** Starts `serve` (in `cwd`, or another deployment's folder). */
  async start(cwd = this.cwd): Promise<RunningNode> {
    return this.track(await startNode(cwd, this.args));
  }

  /** Writes the config (edited), starts a node, {@link populate}s it and stops it. */
  async populated(edit?: (toml: string) => string): Promise<Record<string, Response>> {
    writeConfig(this.cwd, edit);
    const a = await this.start();
    const created = await populate(a, this.ledger);
    await a.stop();
    return created;
  }

  /** Starts a node, reads back every acknowledged record (of `collections`), stops it. */
  async readBack(collections?: readonly string[]): Promise<ReadBack> {
    return (await this.readBackAndList(collections)).back;
  }

  /** {@link readBack}, and what the node lists (`GET /collections`) after reading back. */
  async readBackAndList(collections?: readonly string[]): Promise<{ back: ReadBack; listed: Response }> {
    const n = await this.start();
    const back = await this.ledger.verify(n, collections);
    const listed = await n.request("GET", "/collections");
    await n.stop();
    return { back, listed };
  }

  /** Runs the CLI on the scenario's config. */
  cli(...words: string[]): Promise<RunResult> {
    return runCli([...this.args, ...words], { cwd: this.cwd });
  }

  /** `discover --json`. */
  discover(): Promise<RunResult> {
    return this.cli("discover", "--json");
  }
}
