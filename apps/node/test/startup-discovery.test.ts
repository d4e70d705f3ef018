// The node's start-up discovery reads names only where sizes and times decide nothing, sizes where the
// strategy compares bytes, and still resolves a collection found in two roots by its newest data.
import { cpSync, existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type InProcessNode, openInProcess } from "./in-process.js";

const opened: InProcessNode[] = [];
afterEach(async () => {
  for (const n of opened.splice(0)) await n.close();
});

/** Sets every file and folder under `dir` to `when` (seconds). */
function age(dir: string, when: number): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) age(path, when);
    utimesSync(path, when, when);
  }
}

describe("start-up discovery of the node", () => {
  it("lists RoundRobin and Hash components by name, LeastUsed ones with sizes, and keeps the newest of two copies", async () => {
    const first = await openInProcess();
    opened.push(first);
    expect(
      await first.call("POST", "/collections", { id: "docs", engine: "lsm", dimension: 2 }),
    ).toMatchObject({
      status: 201,
    });
    const put = await first.call("POST", "/collections/docs/records", {
      records: [{ id: "a", vector: [1, 2] }],
    });
    expect(put.status).toBe(200);
    await opened.pop()?.close();

    // A stale copy of the collection's WAL in another WAL root (an interrupted hand copy, say).
    const disks = [1, 2, 3].map((d) => join(first.dir, "data", `disk${d}`, "wal"));
    const home = disks.findIndex((d) => existsSync(join(d, "docs")));
    expect(home).toBeGreaterThanOrEqual(0);
    const stale = disks[(home + 1) % 3] as string;
    cpSync(join(disks[home] as string, "docs"), join(stale, "docs"), { recursive: true });
    age(join(stale, "docs"), 1_000_000_000);

    const lsmLeastUsed = (t: string) => {
      const edited = t.replace(
        '/lsm"]\ndistribution_strategy = "RoundRobin"',
        '/lsm"]\ndistribution_strategy = "LeastUsed"',
      );
      expect(edited).not.toBe(t);
      return edited;
    };
    const again = await openInProcess(lsmLeastUsed, { dir: first.dir });
    opened.push(again);
    const { reports } = again.node;
    expect(reports.wal?.detail).toBe("names");
    expect(reports.viper?.detail).toBe("names");
    expect(reports.metadata?.detail).toBe("names");
    expect(reports.lsm?.detail).toBe("sizes");
    // The conflict got its copies' sizes and times anyway, and the newer copy (where it was written) is live.
    expect(reports.wal?.conflicts).toHaveLength(1);
    expect(reports.wal?.conflicts[0]?.chosen).toBe(`file://${disks[home]}`);
    expect(reports.wal?.conflicts[0]?.copies.every((c) => c.bytes > 0)).toBe(true);
    expect(again.node.service.get("docs", "wal")?.url).toBe(`file://${disks[home]}`);
    expect((await again.call("GET", "/collections/docs/records/a")).json).toMatchObject({
      id: "a",
      vector: [1, 2],
    });
    // /stats shows bytes found at start only where they were read.
    const stats = (await again.call("GET", "/stats")).json;
    expect(
      stats.components.lsm.roots.every((r: { bytesAtStart?: number }) => typeof r.bytesAtStart === "number"),
    ).toBe(true);
    // The metadata root holding docs' definition was listed by name: its bytes were not read (a root
    // without data files is known to hold 0 bytes at either level).
    const metadata = stats.components.metadata.roots as { collections: number; bytesAtStart?: number }[];
    expect(metadata.filter((r) => r.collections > 0)).toHaveLength(1);
    expect(metadata.filter((r) => r.collections > 0 && "bytesAtStart" in r)).toEqual([]);
    expect(metadata.filter((r) => r.collections === 0).map((r) => r.bytesAtStart)).toEqual([0, 0]);
  });
});
