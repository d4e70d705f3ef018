import { type RootSet, describeOnBackends } from "@proximadb/testing-backends";
import { expect, it } from "vitest";
import { openEngine, scanText, text } from "./helpers.js";

// The object-store tier is kept small: every flush is a PUT + server-side copy + DELETE.
// S3 SDK v3 against a real emulator.
describeOnBackends("LsmEngine", ["s3"], (backend) => {
  const open = (roots: RootSet) => openEngine(roots, { nodeId: "s3-node", levelFanout: 2 });

  it("flushes and compacts inside the collection's own bucket prefix and reads everything back after a restart", async () => {
    const roots = await backend.roots("lsm", 2);
    const lsm = await open(roots);
    for (let f = 0; f < 3; f++) {
      await lsm.batch(
        "orders",
        Array.from({ length: 50 }, (_, i) => ({
          type: "put" as const,
          key: `k${String(i).padStart(3, "0")}`,
          value: `f${f}-${i}`,
        })),
      );
      await lsm.delete("orders", `k00${f}`);
      await lsm.flush("orders");
    }
    await lsm.put("users", "u1", "x");
    await lsm.flush("users");
    await lsm.close();

    const again = await open(roots);
    expect(again.collections().sort()).toEqual(["orders", "users"]);
    expect(again.locate("orders")?.url).toBe(roots.urls[0]);
    expect(again.locate("users")?.url).toBe(roots.urls[1]);
    const rows = await scanText(again, "orders");
    expect(rows.length).toBe(49); // each flush re-puts every key; only the last delete (k002) stands
    expect(rows[0]).toEqual(["k000", "f2-0"]);
    expect(await again.get("orders", "k002")).toBeUndefined();
    expect(text(await again.get("users", "u1"))).toBe("x");
    const stats = await again.stats("orders");
    expect(stats?.levels).toEqual([[4], [3]]); // flushes 1 + 2 merged into level-1/3, flush 3 is level-0/4
    const fs = again.locate("orders")?.fs;
    const keys: string[] = [];
    for await (const page of fs?.list("orders/") ?? []) keys.push(...page.files.map((f) => f.key));
    expect(keys.sort()).toEqual(
      stats?.levels
        .flatMap((l, n) => l.map((num) => `orders/level-${n}/${String(num).padStart(8, "0")}.sst`))
        .sort(),
    );
    await again.close();
  }, 60_000);
});
