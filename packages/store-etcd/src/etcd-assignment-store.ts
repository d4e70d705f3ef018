import {
  type AllocationRequest,
  type Assignment,
  type AssignmentStore,
  type CollectionId,
  type ComponentType,
  InvalidArgumentError,
  type PutIfAbsentResult,
  type ReassignResult,
  StoreConflictError,
  type StoreEvent,
} from "@proximadb/core";
import { ExponentialBackoff, handleWhen, noop, retry } from "cockatiel";
import { Etcd3, type IKeyValue, type IOptions, type Watcher, isRecoverableError } from "etcd3";
import { EtcdStoreError, storeClosed, toStoreError } from "./errors.js";
import { KeyLayout, decodeAssignment, encodeAssignment } from "./keys.js";

/** Bounded retries with exponential backoff for calls to etcd. */
export interface EtcdRetryOptions {
  /** Attempts in total (first call included). Default 5. */
  readonly attempts?: number;
  /** First backoff delay. Default 50 ms. */
  readonly baseDelayMs?: number;
  /** Largest backoff delay. Default 1000 ms. */
  readonly maxDelayMs?: number;
}

/** Options shared by both ways of building an {@link EtcdAssignmentStore}. */
interface CommonOptions {
  /** Cluster name: the second segment of every key. */
  readonly cluster: string;
  /** Key prefix. Default `/proximadb`. */
  readonly prefix?: string;
  /** Placements per etcd transaction (each one is a compare and a put; etcd allows 128 ops by default). Default 100. */
  readonly batchSize?: number;
}

/** Options of {@link EtcdAssignmentStore} when it builds its own client. */
export interface EtcdConnectionOptions extends CommonOptions {
  /** `http://host:port` or `https://host:port`, one or several. */
  readonly hosts: string | string[];
  /** TLS material, passed to the client as is. */
  readonly credentials?: {
    readonly rootCertificate?: Buffer;
    readonly privateKey?: Buffer;
    readonly certChain?: Buffer;
  };
  /** Username/password authentication, passed to the client as is (never logged). */
  readonly auth?: { readonly username: string; readonly password: string };
  /** Connection timeout. Default 5000 ms. */
  readonly dialTimeoutMs?: number;
  /** Deadline of each unary call. Default 5000 ms. */
  readonly callTimeoutMs?: number;
  readonly retry?: EtcdRetryOptions;
}

/** Options of {@link EtcdAssignmentStore} with a client the caller owns (not closed by `close()`). */
export interface EtcdClientOptions extends CommonOptions {
  readonly client: Etcd3;
}

/** Options of {@link EtcdAssignmentStore}. */
export type EtcdAssignmentStoreOptions = EtcdConnectionOptions | EtcdClientOptions;

/** Counters kept by the store (for benchmarks and metrics). */
export interface EtcdStoreMetrics {
  /** Transactions sent to etcd (placements and records). */
  readonly transactions: number;
  /** Transactions whose compare failed (a key already existed or the counter moved). */
  readonly conflicts: number;
  /** Entries created by this store. */
  readonly created: number;
  /** Watch events applied to the cache. */
  readonly watchEvents: number;
  /** Values under the prefix that could not be read (wrong version or malformed) and were skipped. */
  readonly invalidValues: number;
}

interface Entry {
  readonly assignment: Assignment;
  readonly modRevision: number;
}

interface Counter {
  value: number;
  /** `mod_revision` of the counter key; 0 while it does not exist. */
  modRevision: number;
}

interface PendingPut {
  readonly assignment: Assignment;
  /** Active roots, in configured order, when the root is picked from the shared counter. */
  readonly candidates: readonly string[] | undefined;
  readonly resolve: (r: PutIfAbsentResult) => void;
  readonly reject: (e: unknown) => void;
}

/** Built from defaults and {@link EtcdRetryOptions}: the client's own cockatiel fault handling. */
function faultHandling(options: EtcdRetryOptions = {}): IOptions["faultHandling"] {
  const attempts = Math.max(1, options.attempts ?? 5);
  const backoff = new ExponentialBackoff({
    initialDelay: options.baseDelayMs ?? 50,
    maxDelay: options.maxDelayMs ?? 1000,
  });
  return {
    // One retry policy for every call; no per-host circuit breaker, so a restarted etcd is used at once.
    host: () => noop,
    global: retry(handleWhen(isRecoverableError), { maxAttempts: attempts - 1, backoff }),
    watchBackoff: new ExponentialBackoff({
      initialDelay: options.baseDelayMs ?? 50,
      maxDelay: options.maxDelayMs ?? 1000,
    }).next(),
  };
}

/**
 * The {@link AssignmentStore} on etcd: one assignment map shared by every node of a cluster.
 *
 * - `putIfAbsent` is an etcd transaction `if (Create(key) == 0) then put else get`: of several nodes
 *   exactly one creates the entry and every other one adopts the winner's root. Concurrent calls of
 *   one node are batched into one transaction per component (up to `batchSize` placements).
 * - A local cache, loaded at {@link start} and kept current by a watch that resumes from the last
 *   seen revision after a disconnect, makes `get` and `list` memory reads.
 * - {@link allocate} (used by the service for the `RoundRobin` strategy) takes the root from a counter
 *   key updated in the same transaction as the entry, so round-robin is exact across nodes (see the README).
 * - When etcd cannot be reached after bounded retries, calls fail with `StoreUnavailableError`
 *   (retryable); nothing is ever placed from the local view alone.
 *
 * @example
 * const store = new EtcdAssignmentStore({ hosts: "http://127.0.0.1:2379", cluster: "prod" });
 * const service = new AssignmentService({ store, components: { wal: { roots, strategy: "RoundRobin" } } });
 * await service.load();
 */
export class EtcdAssignmentStore implements AssignmentStore {
  readonly authoritative = true;
  /** The etcd client (owned by the store unless it was injected). */
  readonly client: Etcd3;
  readonly #ownsClient: boolean;
  readonly #keys: KeyLayout;
  readonly #batchSize: number;
  readonly #cache = new Map<ComponentType, Map<string, Entry>>();
  readonly #counters = new Map<ComponentType, Counter>();
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  readonly #queues = new Map<ComponentType, PendingPut[]>();
  readonly #flushing = new Set<ComponentType>();
  #ready: Promise<void> | undefined;
  #watcher: Watcher | undefined;
  #closed = false;
  #metrics = { transactions: 0, conflicts: 0, created: 0, watchEvents: 0, invalidValues: 0 };

  constructor(options: EtcdAssignmentStoreOptions) {
    this.#keys = new KeyLayout(options.prefix ?? "/proximadb", options.cluster);
    this.#batchSize = Math.max(1, Math.min(options.batchSize ?? 100, 126));
    if ("client" in options) {
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      const callTimeout = options.callTimeoutMs ?? 5000;
      this.client = new Etcd3({
        hosts: options.hosts,
        ...(options.credentials
          ? { credentials: options.credentials as NonNullable<IOptions["credentials"]> }
          : {}),
        ...(options.auth
          ? { auth: { username: options.auth.username, password: options.auth.password } }
          : {}),
        dialTimeout: options.dialTimeoutMs ?? 5000,
        defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
        faultHandling: faultHandling(options.retry),
      });
      this.#ownsClient = true;
    }
  }

  /** `<prefix>/<cluster>/`: the key prefix this store owns. */
  get keyPrefix(): string {
    return this.#keys.base;
  }

  /** Counters since construction. */
  get metrics(): EtcdStoreMetrics {
    return { ...this.#metrics };
  }

  /**
   * Loads every entry of the cluster into the cache and starts the watch from the loaded revision.
   * Called by the first `get`/`list`/`putIfAbsent` when not called explicitly; a failure (etcd
   * unreachable) is a `StoreUnavailableError` and the next call tries again.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(storeClosed("start"));
    this.#ready ??= this.#load().catch((err) => {
      this.#ready = undefined;
      throw toStoreError(err, "start");
    });
    return this.#ready;
  }

  async list(component?: ComponentType): Promise<Assignment[]> {
    await this.start();
    const maps = component ? [this.#cache.get(component)] : [...this.#cache.values()];
    return maps.flatMap((m) => (m ? [...m.values()].map((e) => e.assignment) : []));
  }

  async get(component: ComponentType, collection: CollectionId): Promise<Assignment | undefined> {
    await this.start();
    return this.#cache.get(component)?.get(collection)?.assignment;
  }

  /**
   * Creates the entry unless one exists, in one etcd transaction (batched with concurrent calls).
   * @throws StoreUnavailableError when etcd cannot be reached after the bounded retries.
   */
  async putIfAbsent(assignment: Assignment): Promise<PutIfAbsentResult> {
    return this.#enqueue(assignment, undefined);
  }

  /**
   * Places a new collection on `candidates[n % candidates.length]`, where `n` is a per-component counter
   * key incremented in the same transaction as the entry: round-robin is exact across every node sharing
   * the cluster. The `AssignmentService` calls this for the `RoundRobin` strategy.
   * @throws StoreUnavailableError when etcd cannot be reached after the bounded retries.
   */
  async allocate(request: AllocationRequest): Promise<PutIfAbsentResult> {
    const { candidates, ...rest } = request;
    const first = candidates[0];
    if (first === undefined)
      throw new InvalidArgumentError(`allocate(${request.collection}): no candidate roots`);
    return this.#enqueue({ ...rest, url: first }, candidates);
  }

  async #enqueue(
    assignment: Assignment,
    candidates: readonly string[] | undefined,
  ): Promise<PutIfAbsentResult> {
    await this.start();
    return new Promise<PutIfAbsentResult>((resolve, reject) => {
      let queue = this.#queues.get(assignment.component);
      if (!queue) {
        queue = [];
        this.#queues.set(assignment.component, queue);
      }
      queue.push({ assignment, candidates, resolve, reject });
      void this.#flush(assignment.component);
    });
  }

  /**
   * Moves the entry from `from` to `to` in one etcd transaction guarded by the entry's mod revision (read
   * first): a concurrent change makes it report the entry as it now is. See {@link AssignmentStore.reassign}.
   * @throws StoreUnavailableError when etcd cannot be reached
   */
  async reassign(
    component: ComponentType,
    collection: CollectionId,
    from: string,
    to: string,
  ): Promise<ReassignResult> {
    await this.start();
    const key = this.#keys.assignment(component, collection);
    try {
      for (;;) {
        const kv = (await this.client.get(key).exec()).kvs[0];
        const current = kv ? decodeAssignment(component, collection, kv.value.toString()) : undefined;
        if (!kv || current?.url !== from) return { moved: false, assignment: current };
        const next: Assignment = { ...current, url: to };
        const res = await this.client
          .if(key, "Mod", "==", kv.mod_revision)
          .then(this.client.put(key).value(encodeAssignment(next)))
          .commit();
        this.#metrics.transactions++;
        if (!res.succeeded) {
          this.#metrics.conflicts++;
          continue;
        }
        return { moved: true, assignment: this.#remember(next, Number(res.header.revision), true) };
      }
    } catch (err) {
      throw toStoreError(err, "reassign");
    }
  }

  async delete(component: ComponentType, collection: CollectionId): Promise<boolean> {
    await this.start();
    try {
      const res = await this.client.delete().key(this.#keys.assignment(component, collection)).exec();
      const deleted = Number(res.deleted) > 0;
      if (this.#cache.get(component)?.delete(collection))
        this.#emit({ type: "delete", component, collection });
      return deleted;
    } catch (err) {
      throw toStoreError(err, "delete");
    }
  }

  watch(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the watch and, when the store created the client, closes it. Pending calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher) await watcher.cancel().catch(() => undefined);
    if (this.#ownsClient) this.client.close();
  }

  // --- cache --------------------------------------------------------------------------------

  async #load(): Promise<void> {
    const res = await this.client.getAll().prefix(this.#keys.base).exec();
    const revision = Number(res.header.revision);
    const before = new Map<string, Assignment>();
    for (const m of this.#cache.values())
      for (const e of m.values())
        before.set(`${e.assignment.component}/${e.assignment.collection}`, e.assignment);
    this.#cache.clear();
    this.#counters.clear();
    for (const kv of res.kvs) this.#applyKv(kv, false);
    // On a resync (after etcd cancelled the watch), report what changed while it was gone.
    for (const a of before.values()) {
      if (!this.#cache.get(a.component)?.has(a.collection))
        this.#emit({ type: "delete", component: a.component, collection: a.collection });
    }
    for (const m of this.#cache.values()) {
      for (const { assignment: a } of m.values()) {
        if (before.get(`${a.component}/${a.collection}`)?.url !== a.url)
          this.#emit({ type: "put", assignment: a });
      }
    }
    this.#startWatch(revision + 1);
  }

  #startWatch(fromRevision: number): void {
    if (this.#closed) return;
    const watcher = this.client.watch().prefix(this.#keys.base).startRevision(String(fromRevision)).watcher();
    this.#watcher = watcher;
    watcher.on("put", (kv) => {
      this.#metrics.watchEvents++;
      this.#applyKv(kv, true);
    });
    watcher.on("delete", (kv) => {
      this.#metrics.watchEvents++;
      const key = this.#keys.parse(kv.key.toString());
      if (key?.type === "assignment" && this.#cache.get(key.component)?.delete(key.collection)) {
        this.#emit({ type: "delete", component: key.component, collection: key.collection });
      }
      if (key?.type === "counter") this.#counters.delete(key.component);
    });
    // Disconnects are handled by the client (it resumes from the last seen revision). An error
    // means the watch was cancelled by etcd (e.g. its revision was compacted): reload and re-watch.
    watcher.on("error", () => {
      if (this.#watcher !== watcher || this.#closed) return;
      this.#watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      this.#ready = this.#load().catch((err) => {
        this.#ready = undefined;
        throw toStoreError(err, "resync");
      });
      this.#ready.catch(() => undefined);
    });
  }

  /** Applies one key-value to the cache; returns the stored assignment when it is one. */
  #applyKv(kv: IKeyValue, emit: boolean): Assignment | undefined {
    const key = this.#keys.parse(kv.key.toString());
    if (!key) return undefined;
    const modRevision = Number(kv.mod_revision);
    if (key.type === "counter") {
      const current = this.#counters.get(key.component);
      if (!current || current.modRevision < modRevision) {
        this.#counters.set(key.component, { value: Number(kv.value.toString()), modRevision });
      }
      return undefined;
    }
    const assignment = decodeAssignment(key.component, key.collection, kv.value.toString());
    if (!assignment) {
      this.#metrics.invalidValues++;
      return undefined;
    }
    return this.#remember(assignment, modRevision, emit);
  }

  #remember(assignment: Assignment, modRevision: number, emit: boolean): Assignment {
    let m = this.#cache.get(assignment.component);
    if (!m) {
      m = new Map();
      this.#cache.set(assignment.component, m);
    }
    const prev = m.get(assignment.collection);
    if (prev && prev.modRevision >= modRevision) return prev.assignment;
    m.set(assignment.collection, { assignment, modRevision });
    if (emit && (!prev || prev.assignment.url !== assignment.url)) this.#emit({ type: "put", assignment });
    return assignment;
  }

  #emit(event: StoreEvent): void {
    for (const l of this.#listeners) l(event);
  }

  // --- placement transactions ------------------------------------------------------------------

  /** Sends the component's queued puts, one transaction of up to `batchSize` at a time. */
  async #flush(component: ComponentType): Promise<void> {
    if (this.#flushing.has(component)) return;
    this.#flushing.add(component);
    try {
      const queue = this.#queues.get(component) ?? [];
      while (queue.length > 0) {
        const batch = queue.splice(0, this.#batchSize);
        try {
          await this.#commit(component, batch);
        } catch (err) {
          const e = toStoreError(err, "putIfAbsent");
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#flushing.delete(component);
    }
  }

  async #commit(component: ComponentType, batch: PendingPut[]): Promise<void> {
    let items = batch;
    const counterKey = this.#keys.counter(component);
    for (let round = 0; items.length > 0; round++) {
      if (this.#closed) throw storeClosed("putIfAbsent");
      if (round > 10_000)
        throw new StoreConflictError(
          `gave up placing in ${component} after ${round} conflicting transactions`,
        );
      const counter = this.#counters.get(component) ?? { value: 0, modRevision: 0 };
      const sequenced = items.some((p) => p.candidates !== undefined);
      let ticket = counter.value;
      const values = items.map((p) => {
        if (!p.candidates || p.candidates.length === 0) return p.assignment;
        const url = p.candidates[ticket % p.candidates.length] as string;
        ticket++;
        return { ...p.assignment, url };
      });
      const keys = items.map((p) => this.#keys.assignment(component, p.assignment.collection));
      let txn = this.client.if(keys[0] as string, "Create", "==", 0);
      for (const k of keys.slice(1)) txn = txn.and(k, "Create", "==", 0);
      if (sequenced) {
        txn =
          counter.modRevision === 0
            ? txn.and(counterKey, "Create", "==", 0)
            : txn.and(counterKey, "Mod", "==", counter.modRevision);
      }
      const puts = keys.map((k, i) => this.client.put(k).value(encodeAssignment(values[i] as Assignment)));
      const gets = keys.map((k) => this.client.get(k));
      const res = await txn
        .then(...puts, ...(sequenced ? [this.client.put(counterKey).value(String(ticket))] : []))
        .else(...gets, this.client.get(counterKey))
        .commit();
      this.#metrics.transactions++;
      const revision = Number(res.header.revision);
      if (res.succeeded) {
        if (sequenced) this.#counters.set(component, { value: ticket, modRevision: revision });
        items.forEach((p, i) => {
          const stored = this.#remember(values[i] as Assignment, revision, true);
          this.#metrics.created++;
          p.resolve({ created: true, assignment: stored });
        });
        return;
      }
      this.#metrics.conflicts++;
      const remaining: PendingPut[] = [];
      items.forEach((p, i) => {
        const kv = res.responses[i]?.response_range?.kvs?.[0];
        if (!kv) {
          remaining.push(p);
          return;
        }
        const existing = decodeAssignment(component, p.assignment.collection, kv.value.toString());
        if (!existing) {
          this.#metrics.invalidValues++;
          p.reject(
            new EtcdStoreError(
              "InvalidValue",
              `etcd holds an unreadable assignment for ${p.assignment.collection} (${component})`,
              { key: keys[i] },
            ),
          );
          return;
        }
        p.resolve({ created: false, assignment: this.#remember(existing, Number(kv.mod_revision), true) });
      });
      const counterKv = res.responses[items.length]?.response_range?.kvs?.[0];
      if (counterKv) this.#applyKv(counterKv, false);
      else this.#counters.delete(component);
      items = remaining;
    }
  }
}
