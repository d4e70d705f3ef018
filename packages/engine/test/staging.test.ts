import { InvalidArgumentError } from "@proximadb/core";
import { describeOnBackends, rootsPerTest } from "@proximadb/testing-backends";
import { describe, expect, it } from "vitest";
import {
  type EngineBase,
  type EngineBaseOptions,
  MAX_STAGED_NAME,
  heartbeatKey,
  parseStagingKey,
} from "../src/index.js";
import { HOUR, openViperBase } from "./helpers.js";

describe("parseStagingKey (the one parser of staging names)", () => {
  it("reads owner, sequence and name of a staged file", () => {
    expect(parseStagingKey("orders/_staging/node-b/00000000zz-flush-7")).toEqual({
      collection: "orders",
      owner: "node-b",
      sequence: 36 * 36 - 1,
      name: "flush-7",
    });
  });

  it("gives an adapter's temp file in an owner folder its owner and no stage sequence", () => {
    // fs-local's temp name of the staged file above, while it is being written.
    for (const temp of [".00000000zz-flush-7.tmp-0a1b2c3d4e5f", "00000000zz-flush-7.part~", "x.tmp-0a1b"]) {
      const info = parseStagingKey(`orders/_staging/node-b/${temp}`);
      expect(info?.owner, temp).toBe("node-b");
      expect(info?.sequence, temp).toBeUndefined();
    }
    expect(parseStagingKey("orders/_staging/node-b/.00000000zz-flush-7.tmp-0a1b2c3d4e5f")).toEqual({
      collection: "orders",
      owner: "node-b",
      sequence: undefined,
      name: undefined,
    });
  });

  it("takes no owner from a file name: temp and old-layout names outside an owner folder have none", () => {
    for (const file of [
      ".part.parquet.node-b.lx3k9a-00ff.tmp-0a1b2c", // the old layout's temp, read as node "lx3k9a-00ff" from 1970 before
      "part.parquet.node-b.lx3k9a-00ff", // the old layout
      "node-b/deeper/0000000001-x",
    ]) {
      expect(parseStagingKey(`orders/_staging/${file}`)).toEqual({
        collection: "orders",
        owner: undefined,
        sequence: undefined,
        name: undefined,
      });
    }
  });

  it("is undefined for keys outside a collection's _staging/", () => {
    for (const key of ["orders/vectors/x.parquet", "_staging/node-b/0000000001-x", "orders/_staging", "x"])
      expect(parseStagingKey(key)).toBeUndefined();
  });
});

describeOnBackends("EngineBase staging that belongs to its writer", ["memory", "local"], (backend) => {
  const env = rootsPerTest<EngineBase>(backend, "disk", 1);
  const open = (nodeId: string, extra: Partial<EngineBaseOptions> = {}) =>
    openViperBase(env, { nodeId, ...extra });

  const url = () => env.tier.urls[0] as string;

  it("keeps staging keys under 200 bytes after _staging/ for the longest node id and name", async () => {
    const engine = await open("n".repeat(64));
    const staged = await engine.stage("orders", "x".repeat(MAX_STAGED_NAME));
    const rest = staged.key.slice("orders/_staging/".length);
    expect(Buffer.byteLength(rest)).toBeLessThan(200);
    expect(Buffer.byteLength(rest.slice(rest.indexOf("/") + 1)) + ".x.tmp-0a1b2c3d4e5f".length).toBeLessThan(
      255,
    );
    await expect(engine.stage("orders", "x".repeat(MAX_STAGED_NAME + 1))).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("gives each staged file a higher sequence than the last, also across restarts with a clock gone back", async () => {
    const first = await open("node-a", { now: () => 5_000_000 });
    const a = parseStagingKey((await first.stage("orders", "f")).key)?.sequence as number;
    const b = parseStagingKey((await first.stage("orders", "f")).key)?.sequence as number;
    expect(b).toBeGreaterThan(a);
    const left = await first.stage("orders", "left");
    await left.fs.write(left.key, "left by a crash");
    await first.close();
    const second = await open("node-a", { now: () => 1_000 }); // the clock went back
    const c = parseStagingKey((await second.stage("orders", "f")).key)?.sequence as number;
    expect(c).toBeGreaterThan(parseStagingKey(left.key)?.sequence as number);
  });

  it("writes this writer's heartbeat before its first staged file in a root, and removes it at close", async () => {
    const engine = await open("node-a");
    expect(await env.tier.keys(url(), "_writers/")).toEqual([]);
    await engine.stage("orders", "f");
    expect(await env.tier.keys(url(), "_writers/")).toEqual([heartbeatKey("node-a")]);
    await engine.close();
    expect(await env.tier.keys(url(), "_writers/")).toEqual([]);
  });

  it("removes this node's own leftovers at its start, temp files included, whatever their age", async () => {
    const first = await open("node-a");
    const left = await first.stage("orders", "flush-1");
    await left.fs.write(left.key, "x");
    const temp = `orders/_staging/node-a/.${left.key.split("/").pop()}.tmp-0a1b2c3d4e5f`;
    await env.tier.write(url(), { [temp]: "half" });
    await first.close();
    const again = await open("node-a");
    expect([...again.cleanup.removed].sort()).toEqual([temp, left.key].sort());
    expect(await env.tier.keys(url(), "orders/_staging/")).toEqual([]);
  });

  it("never removes another writer's in-flight temp file (fs-local's .<name>.tmp-<hex>), old layout or new", async () => {
    const inFlight = [
      "orders/_staging/node-b/.0000000001-flush-3.tmp-0a1b2c3d4e5f",
      // What a writer of the old layout leaves while writing: parsed as a stage from 1970 before.
      `orders/_staging/.f.parquet.node-b.${Date.now().toString(36)}-00ff.tmp-0a1b2c3d4e5f`,
    ];
    await env.tier.write(url(), Object.fromEntries(inFlight.map((k) => [k, "half written"])));
    const engine = await open("node-a");
    expect([...engine.cleanup.kept].sort()).toEqual([...inFlight].sort());
    expect(engine.cleanup.removed).toEqual([]);
    expect(await env.tier.keys(url(), "orders/_staging/")).toEqual([...inFlight].sort());
  });

  it("never removes the staging of a writer that is running, however old (a compaction longer than the threshold)", async () => {
    // node-b started a compaction three hours ago (its clock then) and is still at it.
    const b = await open("node-b", { now: () => Date.now() - 3 * HOUR });
    const part = await b.stage("orders", "compact-g2-0"); // node-b's heartbeat is now in the root
    await part.fs.write(part.key, "part 0 of a long compaction");
    await env.tier.touch(url(), part.key, Date.now() - 3 * HOUR);
    const a = await open("node-a");
    expect(a.cleanup.kept).toEqual([part.key]);
    expect(await part.fs.exists(part.key)).toBe(true);
  });

  it("removes another writer's staging once the writer is gone (no fresh heartbeat) and its files are older than the threshold", async () => {
    const old = "orders/_staging/node-b/0000000001-flush-3";
    const fresh = "orders/_staging/node-b/0000000002-flush-4";
    const beat = heartbeatKey("node-b");
    await env.tier.write(url(), { [old]: "x", [fresh]: "y", [beat]: "{}" });
    await env.tier.touch(url(), old, Date.now() - 2 * HOUR);
    await env.tier.touch(url(), beat, Date.now() - 2 * HOUR); // node-b stopped beating an hour ago
    const a = await open("node-a");
    expect(a.cleanup.removed).toEqual([old]);
    expect(a.cleanup.kept).toEqual([fresh]);
  });

  it("judges age by the file's mtime from the listing, never by a time in its name", async () => {
    // Named as if staged two hours ago, written just now (the old layout put the stage time in the name).
    const key = `orders/_staging/o.parquet.node-b.${(Date.now() - 2 * HOUR).toString(36)}-00ff`;
    await env.tier.write(url(), { [key]: "x" });
    const a = await open("node-a");
    expect(a.cleanup.kept).toEqual([key]);
  });
});
