import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type FileSystem, ProximaError, isFsError } from "@proximadb/core";
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

function liveWriter(other: LockBody, fs: FileSystem): LiveWriterError {
  return new LiveWriterError(
    `another node (${other.node}, pid ${other.pid} on ${other.host}) is serving ${fs.root.url} with a memory assignment store; stop it, or run several nodes with [assignment_store] type = "etcd"`,
  );
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
 * clean-up touches the roots), taken once it opened by an exclusive create in every root; a dead writer's lock is taken over
 * by an exclusive create of `<lock>.takeover-<its instance>` (one contender wins it), then delete +
 * exclusive create of the lock: two nodes started in the same instant never both pass.
 */
export class WriterLock {
  readonly #roots: readonly FileSystem[];
  readonly #body: Omit<LockBody, "at">;
  readonly #intervalMs: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #writable: (url: string) => boolean = () => true;
  /** Takeover keys this lock created (removed at release). */
  readonly #takeovers: { fs: FileSystem; key: string }[] = [];

  private constructor(
    roots: readonly FileSystem[],
    nodeId: string,
    intervalMs: number,
    logger: Logger,
    host: string,
  ) {
    this.#roots = roots;
    this.#body = { v: 1, instance: randomUUID(), node: nodeId, host, pid: process.pid };
    this.#intervalMs = intervalMs;
    this.#log = logger;
  }

  /**
   * Takes the lock in every root (an exclusive create; a dead writer's lock is taken over) and keeps it
   * fresh until {@link release}. A root that cannot be written now is skipped (the deployment check
   * reports it). @throws LiveWriterError naming the live writer (node id, host, pid, root)
   */
  static async check(
    roots: readonly FileSystem[],
    o: {
      nodeId: string;
      logger: Logger;
      intervalMs?: number;
      now?: number;
      /** The host named in the lock (default: this host's name; tests play two hosts). */
      host?: string;
    },
  ): Promise<WriterLock> {
    const lock = new WriterLock(roots, o.nodeId, o.intervalMs ?? 2000, o.logger, o.host ?? hostname());
    const now = o.now ?? Date.now();
    for (const fs of roots) {
      const other = await readLock(fs);
      if (other && lock.#live(other, now)) throw liveWriter(other, fs);
    }
    return lock;
  }

  async #take(fs: FileSystem, now: number): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.#create(fs, WRITER_LOCK_KEY, this.#bytes())) return;
      const other = await readLock(fs);
      if (other && this.#live(other, now)) throw liveWriter(other, fs);
      // A dead writer's lock (or a torn one): only the contender that creates its takeover key replaces it.
      const takeover = `${WRITER_LOCK_KEY}.takeover-${other?.instance ?? "torn"}`;
      if (await this.#create(fs, takeover, this.#bytes())) {
        const still = await readLock(fs);
        if (still?.instance === other?.instance) await fs.delete(WRITER_LOCK_KEY).catch(() => undefined);
        this.#takeovers.push({ fs, key: takeover });
      } else {
        // A takeover left by a contender that died before it finished: removed, tried again.
        const taker = await readLock(fs, takeover);
        if (!taker || !this.#live(taker, now)) await fs.delete(takeover).catch(() => undefined);
      }
    }
    const other = await readLock(fs);
    throw new LiveWriterError(
      `another node (${other?.node ?? "unknown"}, pid ${other?.pid ?? "?"} on ${other?.host ?? "?"}) is taking over ${fs.root.url} with a memory assignment store; retry, or run several nodes with [assignment_store] type = "etcd"`,
    );
  }

  /** True when this exclusive create made `key`; false when it was there; a root that cannot be written is skipped (true). */
  async #create(fs: FileSystem, key: string, bytes: Uint8Array): Promise<boolean> {
    try {
      await fs.write(key, bytes, { exclusive: true, durable: true, contentType: "application/json" });
      return true;
    } catch (err) {
      if (isFsError(err, "AlreadyExists")) return false;
      this.#log.warn({ root: fs.root.url, err: String(err) }, "writer lock not written");
      return true;
    }
  }

  #bytes(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ ...this.#body, at: Date.now() } satisfies LockBody));
  }

  #startBeats(): void {
    this.#timer = setInterval(() => {
      this.#beat().catch((err) => this.#log.warn({ err: String(err) }, "writer lock not refreshed"));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /**
   * Takes the lock in every root `writable` allows (an exclusive create; a dead writer's lock is taken
   * over) and keeps it fresh until {@link release}.
   * @throws LiveWriterError when another node took it first (this one must stop, the lock released)
   */
  async hold(writable: (url: string) => boolean = () => true): Promise<void> {
    this.#writable = writable;
    const now = Date.now();
    for (const fs of this.#roots.filter((r) => writable(r.root.url))) await this.#take(fs, now);
    this.#startBeats();
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
    await Promise.allSettled(this.#takeovers.splice(0).map((t) => t.fs.delete(t.key)));
  }

  #live(other: LockBody, now: number): boolean {
    if (other.instance === this.#body.instance) return false;
    if (other.host === this.#body.host) return other.pid !== process.pid && processAlive(other.pid);
    return now - other.at < 3 * this.#intervalMs;
  }

  async #beat(): Promise<void> {
    const bytes = this.#bytes();
    const roots = this.#roots.filter((fs) => this.#writable(fs.root.url));
    const results = await Promise.allSettled(
      roots.map((fs) => fs.write(WRITER_LOCK_KEY, bytes, { contentType: "application/json" })),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  }
}

async function readLock(fs: FileSystem, key = WRITER_LOCK_KEY): Promise<LockBody | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.read(key);
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
