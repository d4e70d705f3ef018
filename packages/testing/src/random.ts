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

/**
 * `count` seeded vectors of dimension `dim` as one flat array (row `i` at `[i * dim, (i + 1) * dim)`):
 * `"random"` uniform in [-1, 1), or `"clustered"` around 100 centres (drawn with seed 7, uniform in
 * [-1, 1)) with Gaussian noise of sigma 0.1 (Box–Muller). The same seed gives the same vectors anywhere,
 * so the index tests and the ANN library benchmark measure the same data.
 */
export function seededVectors(
  kind: "random" | "clustered",
  count: number,
  dim: number,
  seed: number,
): Float32Array {
  const next = seededRandom(seed);
  const out = new Float32Array(count * dim);
  if (kind === "random") {
    for (let i = 0; i < out.length; i++) out[i] = next() * 2 - 1;
    return out;
  }
  const centresRng = seededRandom(7);
  const centres = new Float32Array(100 * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = centresRng() * 2 - 1;
  for (let i = 0; i < count; i++) {
    const c = Math.floor(next() * 100);
    for (let j = 0; j < dim; j++) {
      const u = 1 - next();
      const v = next();
      const g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      out[i * dim + j] = (centres[c * dim + j] as number) + 0.1 * g;
    }
  }
  return out;
}
