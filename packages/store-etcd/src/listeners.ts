/** A tiny typed event registry: `on(name, fn)` returns the function that unsubscribes. */
export class Listeners<Events extends object> {
  readonly #map = new Map<keyof Events, Set<(value: never) => void>>();

  on<K extends keyof Events>(name: K, fn: (value: Events[K]) => void): () => void {
    let set = this.#map.get(name);
    if (!set) {
      set = new Set();
      this.#map.set(name, set);
    }
    set.add(fn as (value: never) => void);
    return () => {
      set.delete(fn as (value: never) => void);
    };
  }

  /**
   * Calls every listener of `name` in subscription order. A listener that throws does not stop the
   * others nor the caller's state change; its error is rethrown on a later tick (a bug in a handler
   * must be loud, not swallowed).
   */
  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const set = this.#map.get(name);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (value: Events[K]) => void)(value);
      } catch (err) {
        setImmediate(() => {
          throw err;
        });
      }
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
