import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { listAll, parseStorageUrl } from "@proximadb/core";
import { Pool } from "undici";
import { afterAll } from "vitest";
import type { NodeConfig } from "../src/config.js";
import { fileSystemOpener } from "../src/storage.js";
import { type RunningNode, startNode, tempDir } from "./helpers.js";

/**
 * One built node for a suite of the move commands (`move`, `drain`, `rebalance execute`): `start(toml)`
 * writes the configuration into a fresh folder and starts the node there (JSON logs); the node is stopped
 * after the suite. `url` is the running node's address (a dead port before `start`).
 */
export function builtNodeSuite(): {
  start(toml: string): Promise<{ node: RunningNode; cwd: string }>;
  readonly url: string;
} {
  let node: RunningNode | undefined;
  afterAll(async () => {
    await node?.stop();
  });
  return {
    async start(toml) {
      const cwd = tempDir();
      writeFileSync(join(cwd, "proximadb.toml"), toml);
      node = await startNode(cwd, ["--config", "proximadb.toml", "--log-format", "json"]);
      return { node, cwd };
    },
    get url() {
      return node?.url ?? "http://127.0.0.1:9";
    },
  };
}

/** Keys under `prefix` of the root `url`, through a file system of the node's own adapters. */
export async function rootKeys(config: NodeConfig, url: string, prefix: string): Promise<string[]> {
  const fs = (await fileSystemOpener(config))(parseStorageUrl(url));
  try {
    return (await listAll(fs, prefix)).files.map((f) => f.key);
  } finally {
    await fs.close();
  }
}

/**
 * Where `GET /collections/:id` places a component: `placements` has the WAL and the engine, `storage` every
 * component that holds files (metadata, index).
 */
// biome-ignore lint/suspicious/noExplicitAny: the node's JSON answer
export function whereIs(view: any, component: string): string | undefined {
  return view?.placements?.[component]?.url ?? view?.storage?.[component]?.url;
}

/**
 * The kill tests' workload through a node at `url`: creates collection `c1`, writes from two writers
 * (every answered record into `acked`), flushes, starts the move of `component` to `target(from)` (noted in
 * `seen`), and keeps writing until the node dies.
 */
export async function driveMove(
  url: string,
  o: { engine: string; component: string; target: (from: string) => string },
  acked: Set<number>,
  seen: { from?: string; to?: string },
  vec: (n: number) => number[],
): Promise<void> {
  const pool = new Pool(url, { connections: 4, pipelining: 1 });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await pool.request({
      method: method as "GET",
      path,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    return { status: res.statusCode, json: await res.body.json().catch(() => undefined) };
  };
  let next = 0;
  let alive = true;
  try {
    await call("POST", "/collections", { id: "c1", engine: o.engine, dimension: vec(0).length });
    const writer = async () => {
      while (alive) {
        const batch = Array.from({ length: 4 }, () => next++);
        const r = await call("POST", "/collections/c1/records", {
          records: batch.map((i) => ({ id: `r${i}`, vector: vec(i) })),
        });
        if (r.status === 200) for (const i of batch) acked.add(i);
      }
    };
    const writing = [writer(), writer()];
    await new Promise((r) => setTimeout(r, 300));
    await call("POST", "/collections/c1/flush");
    const from = whereIs((await call("GET", "/collections/c1")).json, o.component) as string;
    const to = o.target(from);
    seen.from = from;
    seen.to = to;
    const started = await call("POST", "/collections/c1/moves", { component: o.component, to });
    if (started.status !== 202)
      throw new Error(`move answered ${started.status} ${JSON.stringify(started.json)}`);
    await Promise.all(writing);
  } catch {
    // The node was killed: the writers stop.
  } finally {
    alive = false;
    await pool.destroy().catch(() => undefined);
  }
}
