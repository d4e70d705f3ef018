import { createMemoryRoots } from "@proximadb/fs-memory";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { LiveWriterError, WRITER_LOCK_KEY, WriterLock } from "../src/cluster/writer-lock.js";

/** The single-node lock is taken by an exclusive create: of two nodes that both passed the check, one holds it. */
describe("WriterLock", () => {
  const logger = pino({ level: "silent" });
  const URL = "mem://writer-lock/meta";

  it("of two nodes that checked at the same instant, exactly one holds the lock; the other gets LiveWriterError", async () => {
    const roots = createMemoryRoots({ [URL]: {} });
    const fs = roots.fs(URL);
    // Two hosts (pid liveness is for one host): both check before either holds.
    const a = await WriterLock.check([fs], { nodeId: "a", logger, host: "host-a" });
    const b = await WriterLock.check([fs], { nodeId: "b", logger, host: "host-b" });
    const held = await Promise.allSettled([a.hold(), b.hold()]);
    try {
      expect(held.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = held.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(LiveWriterError);
      const winner = held[0]?.status === "fulfilled" ? "a" : "b";
      const stored = JSON.parse(new TextDecoder().decode(await fs.read(WRITER_LOCK_KEY)));
      expect(stored.node).toBe(winner);
    } finally {
      await a.release();
      await b.release();
    }
  });

  it("takes over the lock of a dead process on this host, by delete + exclusive create", async () => {
    const roots = createMemoryRoots({ [URL]: {} });
    const fs = roots.fs(URL);
    const dead = { v: 1, instance: "dead", node: "old", host: "host-a", pid: 2 ** 22 + 1, at: Date.now() };
    await fs.write(WRITER_LOCK_KEY, new TextEncoder().encode(JSON.stringify(dead)));
    const a = await WriterLock.check([fs], { nodeId: "a", logger, host: "host-a" });
    await a.hold();
    try {
      expect(JSON.parse(new TextDecoder().decode(await fs.read(WRITER_LOCK_KEY))).node).toBe("a");
    } finally {
      await a.release();
    }
    expect(await fs.exists(WRITER_LOCK_KEY)).toBe(false);
  });
});
