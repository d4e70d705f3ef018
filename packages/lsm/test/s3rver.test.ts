import { AssignmentService, parseStorageUrl } from "@proximadb/core";
import { S3FileSystem } from "@proximadb/fs-s3";
import { type S3rverInstance, startS3rver } from "@proximadb/testing/emulators/s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LsmEngine } from "../src/index.js";
import { scanText, text } from "./helpers.js";

// The object-store tier is kept small: every flush is a PUT + server-side copy + DELETE.
describe("LsmEngine on s3rver (S3 SDK v3 against a real emulator)", () => {
  let s3: S3rverInstance;
  const bucket = "lsm-test";
  const roots = [`s3://${bucket}/node-a/lsm1`, `s3://${bucket}/node-a/lsm2`];
  beforeAll(async () => {
    s3 = await startS3rver({ buckets: [bucket] });
  }, 60_000);
  afterAll(() => s3?.stop());

  function open(): Promise<LsmEngine> {
    const service = new AssignmentService({ components: { lsm: { roots } } });
    return LsmEngine.open({
      service,
      nodeId: "s3-node",
      levelFanout: 2,
      openFileSystem: (root) => new S3FileSystem(root, { ...s3.clientConfig }),
    });
  }

  it("flushes and compacts inside the collection's own bucket prefix and reads everything back after a restart", async () => {
    const lsm = await open();
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

    const again = await open();
    expect(again.collections().sort()).toEqual(["orders", "users"]);
    expect(again.locate("orders")?.url).toBe(parseStorageUrl(roots[0] as string).url);
    expect(again.locate("users")?.url).toBe(parseStorageUrl(roots[1] as string).url);
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
