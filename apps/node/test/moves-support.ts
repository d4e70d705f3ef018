import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll } from "vitest";
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
