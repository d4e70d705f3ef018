import { listAll } from "@proximadb/core";
import { describeRelease } from "@proximadb/testing-backends";
import { expect } from "vitest";
import { WriteAheadLog } from "../src/index.js";
import { collect, entries } from "./records.js";

describeRelease(
  "WriteAheadLog.release",
  "wal",
  (service, tier) => WriteAheadLog.open({ service, openFileSystem: (r) => tier.openFileSystem(r) }),
  (test) => {
    test("forgets the open log so appends and replays follow the collection to its new root", async ({
      engine: wal,
      move,
      tier,
    }) => {
      await wal.append("orders", entries(0, 3));
      const { from } = await move("orders");
      expect(await wal.append("orders", entries(3, 2))).toEqual({ first: 4, last: 5 });
      expect((await collect(wal.replay("orders"))).map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect((await listAll(tier.openFileSystem(from), "orders/")).files).toEqual([]);
    });

    test("does nothing for a collection it never opened", async ({ engine: wal }) => {
      await wal.release("nobody");
      expect(wal.locate("nobody")).toBeUndefined();
    });
  },
);
