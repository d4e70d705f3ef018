import { type RootView, xxh64 } from "../../src/index.js";

/**
 * The view of an active, empty root of weight 1 at position `index` of the configured list, hashed from its
 * URL, with `overrides` applied over it: what the placement strategies are given for one root.
 */
export function rootView(url: string, index: number, overrides: Partial<RootView> = {}): RootView {
  return {
    url,
    index,
    state: "active",
    weight: 1,
    collections: 0,
    bytes: undefined,
    hash: xxh64(url),
    ...overrides,
  };
}
