/**
 * Seeded randomness for reproducible tests: fault dice, kill instants, shuffles. One generator, so a seed
 * printed by a failing test replays the same run anywhere.
 */

/** mulberry32: a tiny seeded PRNG (uniform in [0, 1)), enough for fault dice and reproducible tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of one item of a seeded series (trial `index` of a run seeded `seed`): a stable mix of the two,
 * so item 7 draws the same numbers whether it runs alone, first or in another lane.
 */
export function deriveSeed(seed: number, index: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A whole number in `[min, max)` drawn from `random` (for kill delays, counts, indexes). */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min));
}
