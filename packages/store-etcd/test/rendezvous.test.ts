import { describe, expect, it } from "vitest";
import { rankNodes, rendezvousWinner } from "../src/index.js";

const collections = Array.from({ length: 30_000 }, (_, i) => `c${i}`);

function tally(winners: Iterable<string | undefined>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const w of winners) if (w !== undefined) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

describe("rankNodes (rendezvous over node ids)", () => {
  it("ranks every given node once, independently of the order they are given in", () => {
    const a = rankNodes("orders", ["n1", "n2", "n3", "n4"]);
    const b = rankNodes("orders", ["n4", "n3", "n1", "n2", "n2"]);
    expect(a).toEqual(b);
    expect([...a].sort()).toEqual(["n1", "n2", "n3", "n4"]);
  });

  it("keeps golden rankings (the same on every node, platform and Node.js version)", () => {
    expect(rankNodes("orders", ["node-a", "node-b", "node-c"])).toEqual(["node-b", "node-c", "node-a"]);
    expect(rankNodes("c0", ["n1", "n2", "n3"])).toEqual(["n3", "n2", "n1"]);
    expect(rankNodes("users", ["n1", "n2", "n3", "n4", "n5"])).toEqual(["n3", "n5", "n2", "n1", "n4"]);
  });

  it("spreads 30,000 collections over 3 nodes within 2% of a third each", () => {
    const counts = tally(collections.map((c) => rendezvousWinner(c, ["n1", "n2", "n3"])));
    for (const n of ["n1", "n2", "n3"])
      expect(Math.abs((counts.get(n) ?? 0) / 30_000 - 1 / 3)).toBeLessThan(0.02);
  });

  it("when a node leaves, moves only its collections, split evenly (within 3%) over the others", () => {
    const before = collections.map((c) => rendezvousWinner(c, ["n1", "n2", "n3"]));
    const after = collections.map((c) => rendezvousWinner(c, ["n2", "n3"]));
    let orphaned = 0;
    const moved: string[] = [];
    before.forEach((w, i) => {
      if (w === "n1") {
        orphaned++;
        moved.push(after[i] as string);
      } else expect(after[i]).toBe(w);
    });
    const counts = tally(moved);
    expect(Math.abs((counts.get("n2") ?? 0) / orphaned - 0.5)).toBeLessThan(0.03);
  });

  it("returns nothing for no nodes", () => {
    expect(rankNodes("orders", [])).toEqual([]);
    expect(rendezvousWinner("orders", [])).toBeUndefined();
  });
});
