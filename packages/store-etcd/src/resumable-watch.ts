import type { Etcd3, IKeyValue, Watcher } from "etcd3";

/** What a {@link ResumableWatch} feeds: a fresh load, then every change after it. */
export interface WatchedPrefix {
  /** Reads the prefix; returns the revision the read reflects. */
  load(): Promise<number>;
  put(kv: IKeyValue): void;
  delete(kv: IKeyValue): void;
  /** After each batch of events (one turn of the event loop's watch callback). */
  changed?(): void;
}

/**
 * A cache loader plus a watch that starts at the loaded revision. The etcd client resumes the watch
 * from the last seen revision after a disconnect, so no event is lost; if etcd cancels it (its
 * revision was compacted) the prefix is loaded again (retried with backoff until it works or stops).
 */
export class ResumableWatch {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #target: WatchedPrefix;
  #watcher: Watcher | undefined;
  #stopped = false;

  constructor(client: Etcd3, prefix: string, target: WatchedPrefix) {
    this.#client = client;
    this.#prefix = prefix;
    this.#target = target;
  }

  /** Loads, then watches. A failing load rejects (the caller may call again). */
  async start(): Promise<void> {
    const revision = await this.#target.load();
    this.#watch(revision + 1);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (watcher) await watcher.cancel().catch(() => undefined);
  }

  #watch(fromRevision: number): void {
    if (this.#stopped) return;
    const watcher = this.#client.watch().prefix(this.#prefix).startRevision(String(fromRevision)).watcher();
    this.#watcher = watcher;
    watcher.on("put", (kv) => this.#target.put(kv));
    watcher.on("delete", (kv) => this.#target.delete(kv));
    watcher.on("data", () => this.#target.changed?.());
    watcher.on("error", () => {
      if (this.#watcher !== watcher || this.#stopped) return;
      this.#watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      void this.#reload();
    });
  }

  async #reload(): Promise<void> {
    for (let delay = 100; !this.#stopped; delay = Math.min(delay * 2, 2000)) {
      try {
        await this.start();
        this.#target.changed?.();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
