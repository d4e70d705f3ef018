import { describe, expect, it } from "vitest";
import { AssignmentService } from "../src/index.js";

describe("AssignmentService", () => {
  it("places five collections on three roots in order 0,1,2,0,1", async () => {
    const s = new AssignmentService({ components: { wal: { roots: ["mem://a", "mem://b", "mem://c"] } } });
    const idx = [];
    for (const id of ["c1", "c2", "c3", "c4", "c5"]) idx.push(s.rootIndex("wal", (await s.assign(id, "wal")).url));
    expect(idx).toEqual([0, 1, 2, 0, 1]);
  });
});
