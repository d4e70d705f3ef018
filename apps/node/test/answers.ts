import { expect, it } from "vitest";

/** Anything answered with an HTTP status: a {@link RunningNode} reply or an in-process one. */
export interface Answered {
  readonly status: number;
}

/** The keys of `S` whose values are answers. */
export type AnswerKey<S> = { [K in keyof S]-?: S[K] extends Answered | undefined ? K : never }[keyof S];

/**
 * States HTTP statuses of a scenario built once: one `it` a row, `[title, { key: status, … }]`, each
 * checking that the answer `seen[key]` (recorded by the suite's `beforeAll`) has that status.
 */
export function itAnswers<S extends object>(
  seen: S,
  rows: readonly [title: string, statuses: { readonly [K in AnswerKey<S>]?: number }][],
): void {
  it.each(rows)("%s", (_title, statuses) => {
    for (const [key, status] of Object.entries(statuses)) {
      const answer = seen[key as keyof S] as Answered | undefined;
      expect(answer?.status, key).toBe(status);
    }
  });
}
