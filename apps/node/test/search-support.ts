/** Shared by the search tests and the benchmarks: a request that must succeed, exact cosine distance, a worker pool. */
import type { RunningNode } from "./helpers.js";

/** Sends one request and returns its JSON; throws naming the request unless it answers `status`. */
export async function must(node: RunningNode, method: string, path: string, body?: unknown, status = 200) {
  const r = await node.request(method, path, body);
  if (r.status !== status) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}

/** Cosine distance (1 − cos θ), the brute-force reference for recall. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return 1 - dot / Math.sqrt(na * nb);
}

/** Runs `fn` over `items` with `n` concurrent workers (the benchmarks' clients). */
export async function pool<T>(n: number, items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}
