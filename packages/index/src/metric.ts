import { IndexError } from "./errors.js";

/** The distance a collection is searched by, chosen at creation. */
export type Metric = "cosine" | "l2" | "ip";

/** Every {@link Metric}. */
export const METRICS: readonly Metric[] = ["cosine", "l2", "ip"];

/** A vector as callers pass it. */
export type Vector = Float32Array | readonly number[];

/**
 * The score every search returns: a distance, lower is closer, results ascending.
 * - `l2`: the Euclidean distance `‖a − b‖`;
 * - `cosine`: `1 − cos(a, b)` (0 for the same direction, 2 for the opposite one);
 * - `ip`: `1 − a·b` (inner product; lower is more similar, may be negative).
 *
 * Exported so that a caller merging index hits with records it holds itself (not yet indexed) ranks them
 * by the same number.
 */
export function distance(metric: Metric, a: Vector, b: Vector): number {
  if (a.length !== b.length)
    throw new IndexError("DimensionMismatch", `vectors of length ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
    sq += (x - y) * (x - y);
  }
  if (metric === "l2") return Math.sqrt(sq);
  if (metric === "ip") return 1 - dot;
  return 1 - dot / Math.sqrt(na * nb);
}

/** Converts the library's raw distance (`l2`: squared) to the {@link distance} convention. */
export function scoreOf(metric: Metric, raw: number): number {
  return metric === "l2" ? Math.sqrt(Math.max(0, raw)) : raw;
}

/** True when `value` is a known metric. */
export function isMetric(value: unknown): value is Metric {
  return typeof value === "string" && (METRICS as readonly string[]).includes(value);
}

/**
 * Checks one vector against the collection's dimension and metric and returns it as a plain array of
 * float32-rounded numbers (what the library takes).
 * @throws IndexError `InvalidRecord`, `DimensionMismatch`
 */
export function checkVector(
  vector: unknown,
  dimension: number,
  metric: Metric,
  what: string,
  collection: string,
): number[] {
  if (!(vector instanceof Float32Array) && !Array.isArray(vector)) {
    throw new IndexError(
      "InvalidRecord",
      `${what}: the vector must be a Float32Array or an array of numbers`,
      {
        collection,
      },
    );
  }
  if (vector.length !== dimension) {
    throw new IndexError(
      "DimensionMismatch",
      `${what} has ${vector.length} dimensions; collection ${collection} has ${dimension}`,
      { collection },
    );
  }
  const out = new Array<number>(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    const x = vector[i];
    if (typeof x !== "number" || !Number.isFinite(x) || !Number.isFinite(Math.fround(x))) {
      throw new IndexError("InvalidRecord", `${what}: component ${i} is not a finite float32 number`, {
        collection,
      });
    }
    out[i] = Math.fround(x);
    norm += x * x;
  }
  if (metric === "cosine" && norm === 0) {
    throw new IndexError("InvalidRecord", `${what}: a zero vector has no direction under the cosine metric`, {
      collection,
    });
  }
  return out;
}
