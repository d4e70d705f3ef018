import { unitScore, xxh64 } from "@proximadb/core";

/**
 * Every given node id ranked for one collection by rendezvous (highest random weight) score, best
 * first, over core's xxHash64 and {@link unitScore}: the same ranking on every node, platform and
 * Node.js version. The first live node is the one that takes the collection over; when it dies
 * too, the next one is first. Removing a node moves only the collections it ranked first for,
 * spread evenly over the others. Ties (never seen in practice) go to the smaller id.
 *
 * @example
 * rankNodes("orders", ["node-b", "node-a", "node-c"]); // e.g. ["node-c", "node-a", "node-b"]
 */
export function rankNodes(collection: string, nodeIds: Iterable<string>): string[] {
  const key = xxh64(collection);
  return [...new Set(nodeIds)]
    .map((id) => ({ id, s: unitScore(key, xxh64(id)) }))
    .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((x) => x.id);
}

/** The first of {@link rankNodes}, or `undefined` when no node is given. */
export function rendezvousWinner(collection: string, nodeIds: Iterable<string>): string | undefined {
  return rankNodes(collection, nodeIds)[0];
}
