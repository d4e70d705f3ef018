import { existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { twoDiskToml } from "./config-support.js";
import { type RunningNode, runCli } from "./helpers.js";
import { builtNodeSuite } from "./moves-support.js";

/** The placement state of a VIPER root as `GET /stats` shows it (`active`, `cordoned`, `offline`). */
async function stateOf(node: RunningNode, url: string): Promise<string | undefined> {
  const roots = (await node.request("GET", "/stats")).json.components.viper.roots as {
    url: string;
    state: string;
  }[];
  return roots.find((r) => r.url === url)?.state;
}

/** Polls {@link stateOf} until it is `want` (the node re-probes its roots every 50 ms); the last state. */
async function waitState(node: RunningNode, url: string, want: string): Promise<string | undefined> {
  let state = await stateOf(node, url);
  for (let t = 0; t < 200 && state !== want; t++) {
    await new Promise((r) => setTimeout(r, 50));
    state = await stateOf(node, url);
  }
  return state;
}

describe("un-cordon and drain while the root is offline (built binary)", () => {
  const suite = builtNodeSuite();

  it("refuses both with exit 1 and one line naming the root, writes nothing there, and the root comes back still cordoned", async () => {
    const toml = twoDiskToml("uncordon-offline", {
      "storage.viper_config": { distribution_strategy: "RoundRobin" },
      deployment: { probe_interval_ms: 50 },
    });
    const { node, cwd } = await suite.start(toml);
    for (const id of ["a", "b"])
      expect((await node.request("POST", "/collections", { id, engine: "viper", dimension: 2 })).status).toBe(
        201,
      );
    const path = join(cwd, "data", "disk1", "viper");
    const url = pathToFileURL(path).href;
    const drained = await runCli(["drain", url, "--node", node.url], { cwd });
    expect(drained.code, drained.stderr).toBe(0);
    expect(await stateOf(node, url)).toBe("cordoned");
    expect(existsSync(join(path, "_cordon.json"))).toBe(true);

    // The disk is unmounted (its folder gone): the node sees the root offline at its next probe.
    renameSync(path, `${path}.unmounted`);
    expect(await waitState(node, url, "offline")).toBe("offline");

    const un = await runCli(["uncordon", url, "--node", node.url], { cwd });
    expect(un.code).toBe(1);
    expect(un.stdout).toBe("");
    expect(un.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(un.stderr).toMatch(
      new RegExp(`^proximadb: POST /roots/uncordon: 503 cannot un-cordon ${url}: .*missing.*once it is back`),
    );
    const again = await runCli(["drain", url, "--node", node.url], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^proximadb: POST /roots/drain: 503 cannot drain ${url}: `));
    // The HTTP answer is typed and names the root, like every refusal of an offline root.
    const http = await node.request("POST", "/roots/uncordon", { url });
    expect(http.status).toBe(503);
    expect(http.json.error).toMatchObject({
      kind: "unavailable",
      retryable: true,
      roots: [{ component: "viper", url, status: "missing" }],
    });
    // Nothing was written where the disk was mounted (no folder, no cordon record).
    expect(existsSync(path)).toBe(false);

    // Back: still cordoned (the refused un-cordon changed nothing), until an un-cordon now.
    renameSync(`${path}.unmounted`, path);
    expect(await waitState(node, url, "cordoned")).toBe("cordoned");
    expect(existsSync(join(path, "_cordon.json"))).toBe(true);
    const late = await node.request("POST", "/collections", { id: "c", engine: "viper", dimension: 2 });
    expect(late.json.placements.viper.url).not.toBe(url);
    const ok = await runCli(["uncordon", url, "--node", node.url], { cwd });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${url}: active\n`);
    expect(await stateOf(node, url)).toBe("active");
    expect(existsSync(join(path, "_cordon.json"))).toBe(false);
  });
});
