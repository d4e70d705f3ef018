import { listAll } from "@proximadb/core";
import { describeRelease } from "@proximadb/testing-backends";
import { expect } from "vitest";
import { LsmEngine } from "../src/index.js";
import { text } from "./helpers.js";

describeRelease(
  "LsmEngine.release",
  "lsm",
  (service, tier) => LsmEngine.open({ service, openFileSystem: (r) => tier.openFileSystem(r), nodeId: "n" }),
  (test) => {
    test("writes the memtable to its root, then reads and writes follow the collection to its new root", async ({
      engine: lsm,
      move,
      tier,
    }) => {
      await lsm.put("orders", "a", "1");
      await lsm.flush("orders");
      await lsm.put("orders", "b", "2"); // only in the memtable
      const { from } = await move("orders");
      expect(text(await lsm.get("orders", "a"))).toBe("1");
      expect(text(await lsm.get("orders", "b"))).toBe("2");
      await lsm.put("orders", "c", "3");
      await lsm.flush("orders");
      expect((await listAll(tier.openFileSystem(from), "orders/")).files).toEqual([]);
      expect(text(await lsm.get("orders", "c"))).toBe("3");
    });
  },
);
