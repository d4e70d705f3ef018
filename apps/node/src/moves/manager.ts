import { randomBytes } from "node:crypto";
import {
  type CollectionId,
  type ComponentType,
  type FileSystem,
  isComponentType,
  parseStorageUrl,
} from "@proximadb/core";
import { type MoveProgress, type MoveSpec, Throttle, deleteRetired, runMove } from "@proximadb/mover";
import pLimit, { type LimitFunction } from "p-limit";
import type { Logger } from "pino";
import { NodeError, describe } from "../errors.js";
import type { CollectionState } from "../collection-state.js";
import type { NodeMetrics } from "../metrics.js";
import type { StorageNode } from "../node.js";
import { type OpenFileSystem, fileSystemOpener } from "../storage.js";
import { fenceWrites } from "./fence.js";
import { MoveMetrics } from "./metrics.js";

/** Where a move is: `queued` for a slot, then the mover's phases, then `done` or `failed`. */
export type MoveState = "queued" | "copying" | "fenced" | "committed" | "retiring" | "done" | "failed";

/** A move as `GET /moves/:id` shows it. */
export interface MoveView {
  readonly id: string;
  readonly collection: string;
  readonly component: ComponentType;
  readonly from: string;
  readonly to: string;
  readonly state: MoveState;
  readonly bytesDone: number;
  readonly totalBytes: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Why it failed (secret-free). */
  readonly error?: string;
}

/** What a move is asked to do. */
export interface MoveRequest {
  readonly collection: string;
  readonly component: string;
  readonly to: string;
  /** This move's own bandwidth cap (bytes/s, 0 or absent: only the node's `[moves]` cap). */
  readonly maxBytesPerSecond?: number;
}

interface Running {
  view: MoveView;
  done: Promise<MoveView>;
  abort: AbortController;
}

/** How long a retired source copy stays before it is deleted (readers that still hold it finish). */
const RETIRE_GRACE_MS = 2000;
/** Longest wait for reads begun before a move's switch-over before the source copy is retired. */
const READS_DRAIN_MS = 30_000;
/** Finished moves kept for `GET /moves`. */
const HISTORY = 200;

/**
 * The node's online moves of one collection's component to another root of that component (WAL, the
 * collection's engine, its metadata — definition, checkpoint — or its index), through `@proximadb/mover`: copied and verified while reads and writes go on,
 * then, with the collection's writes fenced, the delta copied, committed, switched over (assignment,
 * engines re-opened) and unfenced; the source retired. At most `[moves] max_concurrent` run at once and
 * all of them share `[moves] max_bytes_per_second`.
 */
export class NodeMoves {
  readonly #node: StorageNode;
  readonly #log: Logger;
  readonly #metrics: MoveMetrics | undefined;
  readonly #open: Promise<OpenFileSystem>;
  readonly #limit: LimitFunction;
  readonly #throttle: Throttle;
  readonly #moves = new Map<string, Running>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Lets go of collections held after a committed move failed to switch over (at close). */
  readonly #held: (() => void)[] = [];
  #closed = false;

  constructor(
    node: StorageNode,
    o: { logger: Logger; metrics?: NodeMetrics; openFileSystem?: OpenFileSystem },
  ) {
    this.#node = node;
    this.#log = o.logger;
    this.#metrics = o.metrics ? new MoveMetrics(o.metrics.registry, () => this.#running()) : undefined;
    this.#open = o.openFileSystem ? Promise.resolve(o.openFileSystem) : fileSystemOpener(node.config);
    this.#limit = pLimit(node.config.moves.maxConcurrent);
    this.#throttle = new Throttle(node.config.moves.maxBytesPerSecond || undefined);
  }

  /**
   * Starts a move (queued for a slot) and returns its view at once.
   * @throws NodeError `InvalidArgument` (unknown component or root, a component that cannot move, already
   *   there, a bad rate), `NotFound` (collection), `AlreadyExists` (a move of that component runs), `Unavailable`
   *   (the destination may not be written, or the node is closing)
   */
  start(request: MoveRequest): MoveView {
    if (this.#closed) throw new NodeError("Unavailable", "the node is shutting down");
    const spec = this.#spec(request);
    const rate = request.maxBytesPerSecond;
    if (rate !== undefined && !(Number.isFinite(rate) && rate >= 0))
      throw new NodeError("InvalidArgument", `maxBytesPerSecond must be a non-negative number (got ${rate})`);
    const own = rate ? new Throttle(rate) : undefined;
    const abort = new AbortController();
    const entry: Running = {
      view: {
        ...spec,
        state: "queued",
        bytesDone: 0,
        totalBytes: 0,
        startedAt: new Date().toISOString(),
      },
      abort,
      done: Promise.resolve(undefined as never),
    };
    entry.done = this.#limit(() => this.#run(entry, spec, own));
    this.#moves.set(spec.id, entry);
    this.#trim();
    this.#metrics?.started.inc({ component: spec.component });
    return entry.view;
  }

  /** Every move known (running first, then the most recent). */
  list(): MoveView[] {
    return [...this.#moves.values()].map((m) => m.view).reverse();
  }

  /** One move. @throws NodeError `NotFound` */
  get(id: string): MoveView {
    const m = this.#moves.get(id);
    if (!m) throw new NodeError("NotFound", `move ${JSON.stringify(id)} not found`);
    return m.view;
  }

  /** Resolves with the move's final view (done or failed). @throws NodeError `NotFound` */
  wait(id: string): Promise<MoveView> {
    const m = this.#moves.get(id);
    if (!m) return Promise.reject(new NodeError("NotFound", `move ${JSON.stringify(id)} not found`));
    return m.done;
  }

  /** Cancels moves that have not committed, waits for every move, deletes pending retired copies. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const m of this.#moves.values()) m.abort.abort();
    await Promise.allSettled([...this.#moves.values()].map((m) => m.done));
    for (const release of this.#held.splice(0)) release();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #spec(request: MoveRequest): MoveSpec {
    const { collection, component, to } = request;
    if (!isComponentType(component))
      throw new NodeError("InvalidArgument", `unknown component ${JSON.stringify(component)}`);
    const def = this.#node.definition(collection);
    const movable = ["wal", def.engine, "metadata", ...(this.#node.engines.has("index") ? ["index"] : [])];
    if (!movable.includes(component))
      throw new NodeError(
        "InvalidArgument",
        `the ${component} component of ${def.id} cannot be moved (movable: ${movable.join(", ")})`,
      );
    this.#node.collectionState(def.id); // served now (not unavailable)
    for (const m of this.#moves.values()) {
      const v = m.view;
      if (v.collection === def.id && v.component === component && !["done", "failed"].includes(v.state))
        throw new NodeError("AlreadyExists", `move ${v.id} of ${def.id}'s ${component} is running`);
    }
    let target: string;
    try {
      target = parseStorageUrl(to).url;
    } catch (err) {
      throw new NodeError("InvalidArgument", `to: ${(err as Error).message}`);
    }
    const roots = this.#node.service.roots(component).map((r) => r.url);
    if (!roots.includes(target))
      throw new NodeError(
        "InvalidArgument",
        `${target} is not a ${component} root (configured: ${roots.join(", ")})`,
      );
    const from = this.#node.service.get(def.id, component)?.url;
    if (!from) throw new NodeError("NotFound", `${def.id} has no ${component} placement`);
    if (from === target)
      throw new NodeError("InvalidArgument", `${def.id}'s ${component} is already in ${target}`);
    const stats = this.#node.service.stats().find((s) => s.component === component);
    const state = stats?.roots.find((r) => r.url === target)?.state;
    if (state !== undefined && state !== "active")
      throw new NodeError("InvalidArgument", `${target} is ${state}: it takes no collections`);
    const why = this.#node.health.refusal(target);
    if (why !== undefined) throw new NodeError("Unavailable", `${target} may not be written now: ${why}`);
    return { id: newMoveId(), collection: def.id as CollectionId, component, from, to: target };
  }

  async #run(entry: Running, spec: MoveSpec, own: Throttle | undefined): Promise<MoveView> {
    const set = (patch: Partial<MoveView>) => {
      entry.view = { ...entry.view, ...patch };
    };
    const open = await this.#open;
    const source = open(parseStorageUrl(spec.from));
    const target = open(parseStorageUrl(spec.to));
    let committed = false;
    const t0 = performance.now();
    try {
      if (entry.abort.signal.aborted) throw new NodeError("Unavailable", "the node is shutting down");
      const state = this.#node.collectionState(spec.collection);
      const store = this.#node.engines.store(spec.component);
      const onProgress = (p: MoveProgress) => {
        this.#metrics?.bytes.inc({ component: spec.component }, p.bytesDone - entry.view.bytesDone);
        if (p.phase === "committed") committed = true;
        set({
          state: p.phase === "done" ? entry.view.state : p.phase,
          bytesDone: p.bytesDone,
          totalBytes: p.totalBytes,
        });
      };
      this.#log.info({ move: spec }, "move started");
      await runMove(
        source,
        target,
        spec,
        {
          fenced: (work) =>
            fenceWrites(
              state,
              work,
              () => committed,
              (release) => this.#held.push(release),
            ),
          beforeFinalPass: async () => {
            // Dropped meanwhile: committing would bring its files back as an orphan.
            if (state.dropped) throw new NodeError("NotFound", `collection ${spec.collection} was dropped`);
            // The index builder works outside the write fence: let its queued jobs finish writing first
            // (none is queued meanwhile: they follow flushes and compactions, which the fence holds).
            if (spec.component === "index") await this.#node.search.idle(spec.collection);
            await store.release?.(spec.collection);
          },
          afterCommit: async () => {
            await this.#node.service.reassign(spec.collection, spec.component, spec.from, spec.to);
            await store.release?.(spec.collection);
            if (spec.component === "wal")
              await this.#node.wal.recover(spec.collection, { checkpoint: state.checkpointed });
          },
          // Reads begun on the source copy before the switch-over end before it is retired (bounded).
          beforeRetire: () => this.#readsDrained(spec, state),
        },
        {
          throttle: own ? new SharedThrottle(this.#throttle, own) : this.#throttle,
          signal: entry.abort.signal,
          onProgress,
          ...this.#pauseHook(spec),
        },
      );
      this.#retireLater(spec, source);
      set({ state: "done", finishedAt: new Date().toISOString() });
      this.#log.info({ move: spec, bytes: entry.view.totalBytes }, "move done");
    } catch (err) {
      set({ state: "failed", finishedAt: new Date().toISOString(), error: describe(err) });
      this.#log.error({ move: spec, err: describe(err), committed }, "move failed");
      await source.close().catch(() => undefined);
    } finally {
      await target.close().catch(() => undefined);
    }
    this.#metrics?.finished.inc({ component: spec.component, state: entry.view.state });
    this.#metrics?.seconds.observe({ component: spec.component }, (performance.now() - t0) / 1000);
    return entry.view;
  }

  /**
   * Test hook: `PROXIMADB_TEST_MOVE_PAUSE_AT=<step>` (a step of `runMove`: `pass-1`, `fenced`,
   * `final-pass`, `committed`, `promoted`, `switched`, `retired`, `finished`) stops every move for good at
   * that step after logging "move paused", so a test can kill -9 the node exactly there.
   */
  #pauseHook(spec: MoveSpec): { onStep?: (step: string) => Promise<void> | undefined } {
    const at = process.env.PROXIMADB_TEST_MOVE_PAUSE_AT;
    if (!at) return {};
    return {
      onStep: (step) => {
        if (step !== at) return undefined;
        this.#log.info({ move: spec.id, step }, "move paused");
        return new Promise<void>(() => undefined);
      },
    };
  }

  async #readsDrained(spec: MoveSpec, state: CollectionState): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), READS_DRAIN_MS);
    });
    const slow = await Promise.race([state.readsSettled().then(() => false), late]);
    clearTimeout(timer);
    if (slow)
      this.#log.warn(
        { move: spec.id, collection: spec.collection, waitedMs: READS_DRAIN_MS },
        "reads begun before the switch-over still run; retiring the source copy anyway",
      );
  }

  #retireLater(spec: MoveSpec, source: FileSystem): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      deleteRetired(source, spec)
        .catch((err) => this.#log.warn({ move: spec.id, err: describe(err) }, "retired copy not deleted yet"))
        .finally(() => source.close().catch(() => undefined));
    }, RETIRE_GRACE_MS);
    t.unref();
    this.#timers.add(t);
  }

  #running(): number {
    let n = 0;
    for (const m of this.#moves.values()) if (!["done", "failed", "queued"].includes(m.view.state)) n++;
    return n;
  }

  #trim(): void {
    for (const [id, m] of this.#moves) {
      if (this.#moves.size <= HISTORY) return;
      if (m.view.state === "done" || m.view.state === "failed") this.#moves.delete(id);
    }
  }
}

/** Both the node's and the move's own limit. */
class SharedThrottle extends Throttle {
  constructor(
    readonly node: Throttle,
    readonly own: Throttle,
  ) {
    super();
  }
  override async take(bytes: number): Promise<void> {
    await this.own.take(bytes);
    await this.node.take(bytes);
  }
}

function newMoveId(): string {
  return `mv-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}
