/**
 * Runs `work` over `items` in at most `lanes` concurrent lanes. After a failure no lane takes a new
 * item, and every lane ends before the failure is thrown: none may still be writing after it.
 */
export async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < items.length && !failed) await work(items[next++] as T);
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(lanes, items.length)) }, () =>
      lane().catch((err) => {
        failed = true;
        throw err;
      }),
    ),
  );
  const failure = settled.find((r) => r.status === "rejected");
  if (failure) throw (failure as PromiseRejectedResult).reason;
}
