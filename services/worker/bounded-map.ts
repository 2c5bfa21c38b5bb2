/**
 * `Promise.all` over a list with at most `limit` calls in flight, results in input order. The first failure
 * stops new calls from starting and is the one thrown (calls already running are awaited first, so nothing is left
 * running behind the caller's back). An aborted `signal` stops new calls too and throws its reason.
 */

/**
 * @param limit calls in flight at most (≥ 1).
 * @throws the first error of `fn`, or `signal.reason` when aborted.
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const run = async (): Promise<void> => {
    while (!failed) {
      if (signal?.aborted) {
        if (!failed) {
          failed = true;
          firstError = signal.reason;
        }
        return;
      }
      const i = next++;
      if (i >= items.length) return;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
  if (failed) throw firstError;
  return results;
}
