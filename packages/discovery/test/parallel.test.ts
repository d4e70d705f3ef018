// Listing folder after folder costs one round trip each on an object store: the delimiter plan's
// collection listings and the conflicts' sizes are read several at once, bounded, with the same report.
import type { FileSystem, ListOptions, ListPage } from "@proximadb/core";
import { createMemoryRoots } from "@proximadb/fs-memory";
import { describe, expect, it } from "vitest";
import { discover } from "../src/index.js";
import { forwarding } from "./support/wrappers.js";

/** Every listing of a prefix other than the root's top level waits `delayMs`; the most in flight is kept. */
function slowFolders(
  inner: FileSystem,
  delayMs: number,
  seen: { inFlight: number; max: number },
): FileSystem {
  const wrapper = forwarding(inner);
  wrapper.list = async function* (prefix: string, opts?: ListOptions): AsyncIterable<ListPage> {
    if (prefix === "") {
      yield* inner.list(prefix, opts);
      return;
    }
    seen.inFlight++;
    seen.max = Math.max(seen.max, seen.inFlight);
    try {
      await new Promise((r) => setTimeout(r, delayMs));
      yield* inner.list(prefix, opts);
    } finally {
      seen.inFlight--;
    }
  };
  return wrapper;
}

function tree(n: number, extra: Record<string, string> = {}): Record<string, string> {
  const files: Record<string, string> = { ...extra };
  for (let c = 0; c < n; c++) {
    const id = `coll-${String(c).padStart(3, "0")}`;
    files[`${id}/1.avro`] = "x";
    files[`${id}/notes.txt`] = "not data";
  }
  return files;
}

describe("bounded parallel listings", () => {
  it("lists the delimiter plan's collection folders several at once (at most 16), reporting as the flat plan does", async () => {
    const h = createMemoryRoots({ "mem://p0": tree(40, { "_reserved/x.avro": "r" }) });
    const seen = { inFlight: 0, max: 0 };
    const slow = slowFolders(h.fs("mem://p0"), 5, seen);
    const delimiter = await discover({ component: "wal", roots: [slow], plan: "delimiter", detail: "names" });
    expect(seen.max).toBeGreaterThan(1);
    expect(seen.max).toBeLessThanOrEqual(16);
    const flat = await discover({
      component: "wal",
      roots: [h.fs("mem://p0")],
      plan: "flat",
      detail: "names",
    });
    expect(Object.keys(delimiter.collections)).toHaveLength(40);
    expect(delimiter.collections).toEqual(flat.collections);
    // Same ignored entries in the same (key) order, whatever order the listings finished in.
    expect(delimiter.ignored).toEqual(flat.ignored);
    expect(delimiter.roots[0]?.requests).toBe(41);
  });

  it("fails the root as unreachable when one folder listing fails, without waiting for folders never started", async () => {
    const h = createMemoryRoots({ "mem://q0": tree(40) });
    const inner = h.fs("mem://q0");
    const wrapper = forwarding(inner);
    let started = 0;
    wrapper.list = async function* (prefix: string, opts?: ListOptions): AsyncIterable<ListPage> {
      if (prefix !== "") started++;
      if (prefix === "coll-003/") throw Object.assign(new Error("boom"), { name: "Boom" });
      yield* inner.list(prefix, opts);
    };
    const report = await discover({ component: "wal", roots: [wrapper], plan: "delimiter" });
    expect(report.roots[0]?.status).toBe("unreachable");
    expect(report.collections).toEqual({});
    expect(started).toBeLessThan(40);
  });

  it("measures the copies of many conflicts several at once, and every copy gets its sizes", async () => {
    const h = createMemoryRoots({ "mem://c0": tree(30), "mem://c1": tree(30) });
    const seen = { inFlight: 0, max: 0 };
    const roots = ["mem://c0", "mem://c1"].map((u) => slowFolders(h.fs(u), 5, seen));
    const report = await discover({ component: "wal", roots, detail: "names" });
    expect(report.conflicts).toHaveLength(30);
    expect(report.conflicts.every((c) => c.copies.every((x) => x.bytes === 1))).toBe(true);
    expect(seen.max).toBeGreaterThan(4); // more than the bound on roots (default 4)
    expect(seen.max).toBeLessThanOrEqual(16);
  });
});
