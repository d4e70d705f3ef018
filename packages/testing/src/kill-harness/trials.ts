import { InvalidArgumentError } from "@proximadb/core";
import { deriveSeed, seededRandom } from "../random.js";

/** What one trial of {@link runTrials} gets. */
export interface Trial {
  /** 0-based trial number. */
  readonly index: number;
  /** The lane running it (0-based): state that must not be shared between lanes (a root) is keyed by it. */
  readonly lane: number;
  /** This trial's own seed, derived from the run's seed and `index`. */
  readonly seed: number;
  /** A generator seeded with {@link seed}: trial `index` draws the same numbers on every run. */
  readonly random: () => number;
}

/** Options of {@link runTrials}. */
export interface TrialsOptions {
  /** How many trials. */
  readonly trials: number;
  /** The run's seed (print it with a failure to replay the run). */
  readonly seed: number;
  /**
   * Lanes run side by side, each running its trials one after another (trial `i` runs in lane
   * `i % lanes`). Default 1.
   */
  readonly lanes?: number;
}

/**
 * Runs `trials` seeded trials (kill points) in `lanes` parallel lanes. The first failure stops every lane
 * from starting another trial; once the running ones settled it rethrows, its message prefixed with
 * `trial 7 of 20 (seed 42, trial seed …)` so the failing kill point can be replayed.
 *
 * @example
 * const results = await runTrials({ trials: 20, seed: 7, lanes: 2 }, async ({ lane, random }) => {
 *   const run = await runAndKill(tsChild(child, [rootOf(lane)]), { ack, delayMs: randomInt(random, 0, 150) });
 *   await verify(rootOf(lane), run.acked);
 *   return run.acked.length;
 * });
 */
export async function runTrials<R>(options: TrialsOptions, trial: (t: Trial) => Promise<R>): Promise<R[]> {
  const { trials, seed } = options;
  const lanes = options.lanes ?? 1;
  if (!(Number.isInteger(trials) && trials >= 1))
    throw new InvalidArgumentError(`trials must be a whole number >= 1, got ${trials}`);
  if (!(Number.isInteger(lanes) && lanes >= 1))
    throw new InvalidArgumentError(`lanes must be a whole number >= 1, got ${lanes}`);
  if (!Number.isFinite(seed)) throw new InvalidArgumentError(`seed must be a finite number, got ${seed}`);
  const results: R[] = new Array(trials);
  const state: { failed?: { index: number; error: unknown } } = {};
  const lane = async (l: number) => {
    for (let index = l; index < trials && state.failed === undefined; index += lanes) {
      const own = deriveSeed(seed, index);
      try {
        results[index] = await trial({ index, lane: l, seed: own, random: seededRandom(own) });
      } catch (error) {
        // Another lane may have failed meanwhile (TypeScript's narrowing from the loop test does not know).
        const earlier = state.failed as { index: number } | undefined;
        if (earlier === undefined || index < earlier.index) state.failed = { index, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, trials) }, (_, l) => lane(l)));
  const failure = state.failed;
  if (failure !== undefined) {
    const prefix = `trial ${failure.index} of ${trials} (seed ${seed}, trial seed ${deriveSeed(seed, failure.index)})`;
    const { error } = failure;
    if (error instanceof Error) {
      error.message = `${prefix}: ${error.message}`;
      throw error;
    }
    throw new Error(`${prefix}: ${String(error)}`);
  }
  return results;
}
