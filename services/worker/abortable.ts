/**
 * Racing a promise against an AbortSignal, for calls that take no signal of their own (the AI coordinator's
 * contract has none): the caller stops waiting at once, the call itself finishes in the background and its
 * outcome is dropped (a rejection is swallowed so it never becomes an unhandled rejection).
 */

/**
 * Resolves or rejects like `promise`, or rejects with `signal.reason` as soon as `signal` aborts.
 * @throws `signal.reason` when aborted (before or during the wait).
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Throws `signal.reason` when `signal` has aborted: a checkpoint between pipeline steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}
