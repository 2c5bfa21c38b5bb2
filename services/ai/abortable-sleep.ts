/** A timer that a coordinator's close can cut short. */

/**
 * Resolves after `ms` (ms), or rejects with `signal.reason` as soon as `signal` aborts.
 * @throws the abort reason when the signal is (or becomes) aborted.
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
