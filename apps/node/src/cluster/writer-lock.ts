import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type FileSystem, ProximaError } from "@proximadb/core";
import type { Logger } from "pino";

/** The live-writer object a single node (memory assignment store) keeps in every root it serves. */
export const WRITER_LOCK_KEY = "_writers/single-node.lock.json";

interface LockBody {
  readonly v: 1;
  readonly instance: string;
  readonly node: string;
  readonly host: string;
  readonly pid: number;
  /** Wall-clock ms of the last beat. */
  readonly at: number;
}

/**
 * Another node serves these roots with a memory assignment store: two writers of the same collections
 * would lose acknowledged records. Code `DEPLOYMENT` (the CLI exits 2 with this one line).
 */
export class LiveWriterError extends ProximaError {
  constructor(message: string) {
    super("DEPLOYMENT", message);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Single-node mode (`[assignment_store] type = "memory"`): refuses a second node on the same roots.
 * Every root carries {@link WRITER_LOCK_KEY}, rewritten every `intervalMs`. A lock is live when its
 * writer is a running process on this host (checked by pid), or, from another host, when it beat within
 * `3 × intervalMs`. A lock of a killed process on this host is taken over at once; from another host,
 * after its beats stop for `3 × intervalMs`. Checked before the node opens (before any recovery or
 * clean-up touches the roots), written once it opened; two nodes started in the same instant may both
 * pass the check — with several nodes, use etcd.
 */
export class WriterLock {
  readonly #roots: readonly FileSystem[];
  readonly #body: Omit<LockBody, "at">;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #writable: (url: string) => boolean = () => true;

  private constructor(roots: readonly FileSystem[], nodeId: string, intervalMs: number, logger: Logger) {
    this.#roots = roots;
    this.#body = { v: 1, instance: randomUUID(), node: nodeId, host: hostname(), pid: process.pid };
    this.#intervalMs = intervalMs;
    this.#log = logger;
  }

  /**
   * Checks every root for a live writer. @throws LiveWriterError naming it (node id, host, pid, root)
   */
  static async check(
    roots: readonly FileSystem[],
    o: { nodeId: string; logger: Logger; intervalMs?: number; now?: number },
  ): Promise<WriterLock> {
    const lock = new WriterLock(roots, o.nodeId, o.intervalMs ?? 2000, o.logger);
    const now = o.now ?? Date.now();
    for (const fs of roots) {
      const other = await readLock(fs);
      if (!other || !lock.#live(other, now)) continue;
      throw new LiveWriterError(
        `another node (${other.node}, pid ${other.pid} on ${other.host}) is serving ${fs.root.url} with a memory assignment store; stop it, or run several nodes with [assignment_store] type = "etcd"`,
      );
    }
    return lock;
  }

  /** Writes the lock into every root `writable` allows and keeps it fresh until {@link release}. */
  async hold(writable: (url: string) => boolean = () => true): Promise<void> {
    this.#writable = writable;
    await this.#beat();
    this.#timer = setInterval(() => {
      this.#beat().catch((err) => this.#log.warn({ err: String(err) }, "writer lock not refreshed"));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops beating and removes the lock (best effort). */
  async release(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.allSettled(
      this.#roots.map(async (fs) => {
        const cur = await readLock(fs);
        if (cur?.instance === this.#body.instance) await fs.delete(WRITER_LOCK_KEY);
      }),
    );
  }

  #live(other: LockBody, now: number): boolean {
    if (other.instance === this.#body.instance) return false;
    if (other.host === this.#body.host) return other.pid !== process.pid && processAlive(other.pid);
    return now - other.at < 3 * this.#intervalMs;
  }

  async #beat(): Promise<void> {
    const body = JSON.stringify({ ...this.#body, at: Date.now() } satisfies LockBody);
    const bytes = new TextEncoder().encode(body);
    const roots = this.#roots.filter((fs) => this.#writable(fs.root.url));
    const results = await Promise.allSettled(
      roots.map((fs) => fs.write(WRITER_LOCK_KEY, bytes, { contentType: "application/json" })),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

async function readLock(fs: FileSystem): Promise<LockBody | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.read(WRITER_LOCK_KEY);
  } catch {
    return undefined; // absent, or the root is unreachable (the deployment check reports that)
  }
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LockBody>;
    if (v.v !== 1 || typeof v.instance !== "string" || typeof v.pid !== "number") return undefined;
    return v as LockBody;
  } catch {
    return undefined; // torn or foreign: not a live writer's
  }
}
