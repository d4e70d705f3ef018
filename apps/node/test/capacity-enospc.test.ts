import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningNode, startNode, tempDir } from "./helpers.js";
import { DIM, Ledger, eventually, writeConfig } from "./roots-support.js";

// A really full root: the WAL root is a 2 MiB tmpfs. Writes that hit ENOSPC answer 507 naming the root,
// nothing acknowledged is lost, and the node keeps serving (reads at once; writes again once the tmpfs
// is grown with `mount -o remount`). Needs `mount -t tmpfs` (root in a container that allows it).

const dir = tempDir("proximadb-enospc-");
const mnt = join(dir, "data", "tmpwal");

function tryMount(): boolean {
  try {
    mkdirSync(mnt, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const mounted = tryMount();

describe.skipIf(!mounted)("a WAL root on a full 2 MiB tmpfs", () => {
  let node: RunningNode;
  const ledger = new Ledger();
  const args = ["--config", "proximadb.toml", "--log-format", "json"];
  let full: Awaited<ReturnType<RunningNode["request"]>> | undefined;

  beforeAll(async () => {
    writeConfig(
      dir,
      (t) =>
        `${t.replace(/wal_urls = \[[^\]]*\]/, 'wal_urls = ["file://data/tmpwal/wal"]')}\n[placement]\ncheck_interval_ms = 100\n`,
    );
    node = await startNode(dir, args);
    expect(
      (await node.request("POST", "/collections", { id: "fill", engine: "viper", dimension: DIM })).status,
    ).toBe(201);
    for (let batch = 0; batch < 400 && !full; batch++) {
      const res = await ledger.put(node, "fill", batch * 200, 200);
      if (res.status !== 200) full = res;
    }
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
    try {
      execFileSync("umount", [mnt], { stdio: "ignore" });
    } catch {
      // left for the OS to clean up
    }
  });

  it("a write that hits ENOSPC answers 507 insufficient-storage naming the root", () => {
    expect(full?.status).toBe(507);
    expect(full?.json.error.kind).toBe("insufficient-storage");
    expect(full?.json.error.message).toContain(`file://${mnt}/wal`);
    expect(ledger.count()).toBeGreaterThan(0);
  });

  it("keeps serving: health and every acknowledged record read back exactly", async () => {
    expect((await node.request("GET", "/healthz")).status).toBe(200);
    const { checked, wrong } = await ledger.verify(node);
    expect(wrong).toEqual([]);
    expect(checked).toBe(ledger.count());
  });

  it("the full WAL root takes no new collection (507) while it is full", async () => {
    expect(
      await eventually(async () => {
        const stats = (await node.request("GET", "/stats")).json;
        return stats.components.wal.roots[0].capacity?.state === "full";
      }),
    ).toBe(true);
    const res = await node.request("POST", "/collections", { id: "later", engine: "lsm", dimension: DIM });
    expect(res.status).toBe(507);
  });

  it("writes succeed again once the root has space, and the records survive a restart", async () => {
    execFileSync("mount", ["-o", "remount,size=64m", mnt]);
    const res = await ledger.put(node, "fill", 1_000_000, 50);
    expect(res.status).toBe(200);
    await node.stop();
    node = await startNode(dir, args);
    const { checked, wrong } = await ledger.verify(node);
    expect(wrong).toEqual([]);
    expect(checked).toBe(ledger.count());
  }, 120_000);
});
