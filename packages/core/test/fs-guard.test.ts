import { describe, expect, it } from "vitest";
import { ClosedError, FsError, FsGuard, InvalidArgumentError, parseStorageUrl } from "../src/index.js";

const root = parseStorageUrl("mem://guarded");

describe("FsGuard", () => {
  it("while open, passes valid calls through with the root and page limit it was given", () => {
    const guard = new FsGuard(root, 500);
    expect(guard.closed).toBe(false);
    expect(() => guard.open("probe")).not.toThrow();
    expect(guard.file("read", "coll-1/a")).toBe("coll-1/a");
    expect(guard.list("", undefined)).toBe(500);
    expect(guard.list("coll-1/", 2000)).toBe(500);
    expect(guard.list("coll-1/", 20)).toBe(20);
    expect(guard.deletePrefix("coll-1/")).toBe("coll-1/");
  });

  it("refuses a folder key, an escaping prefix, a bare stem and a bad page size while open", () => {
    const guard = new FsGuard(root, 1000);
    const refusals: [() => unknown, string][] = [
      [() => guard.file("write", "coll-1/"), "InvalidKey"],
      [() => guard.list("../x", undefined), "InvalidKey"],
      [() => guard.deletePrefix("coll-1"), "InvalidKey"],
    ];
    for (const [call, kind] of refusals) {
      expect(call).toThrow(FsError);
      expect(call).toThrow(expect.objectContaining({ kind, root: root.url }));
    }
    expect(() => guard.list("", 0)).toThrow(InvalidArgumentError);
  });

  it("after close refuses every operation with ClosedError naming it, and says which close was the first", () => {
    const guard = new FsGuard(root, 1000);
    expect(guard.close()).toBe(true);
    expect(guard.close()).toBe(false);
    expect(guard.closed).toBe(true);
    const calls: [string, () => unknown][] = [
      ["probe", () => guard.open("probe")],
      ["stat", () => guard.file("stat", "coll-1/a")],
      ["list", () => guard.list("", undefined)],
      ["deletePrefix", () => guard.deletePrefix("coll-1/")],
    ];
    for (const [operation, call] of calls) {
      expect(call).toThrow(ClosedError);
      expect(call).toThrow(`file system mem://guarded is closed (${operation})`);
    }
  });
});
