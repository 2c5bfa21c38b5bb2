/**
 * Retries of AWS calls: throttling and server errors are retried with exponential back-off and full jitter
 * (sleep = random(0, min(capMs, baseMs * 2^attempt))), the AWS Architecture Blog's recommended scheme; anything
 * else fails at once. The SDK's own retries are turned off (maxAttempts 1) so every attempt is counted here.
 * Floors and caps are in milliseconds and seconds, not controller-runtime's 5 ms base, which hammers cloud
 * APIs (reference/operator-anchors.md §1, controller-runtime#631).
 */

/** Retry settings. */
export interface RetryOptions {
  /** Attempts in all, first included. @defaultValue 5 */
  maxAttempts: number;
  /** Back-off base, ms. @defaultValue 200 */
  baseMs: number;
  /** Largest single sleep, ms. @defaultValue 10000 */
  capMs: number;
  /** Random source in [0, 1); tests may fix it. @defaultValue Math.random */
  random: () => number;
  /** Sleep function; tests may replace it. @defaultValue setTimeout-based */
  sleep: (ms: number) => Promise<void>;
}

/** Defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 5,
  baseMs: 200,
  capMs: 10_000,
  random: Math.random,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Error names AWS uses for throttling (ECS: ThrottlingException; Application Auto Scaling: also ConcurrentUpdateException). */
const RETRYABLE_NAMES = new Set([
  'ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'RequestLimitExceeded',
  'RateExceeded', 'RequestThrottled', 'ConcurrentUpdateException', 'ServerException', 'InternalServiceException', 'InternalServiceError',
  'InternalFailure', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeout',
]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Whether an SDK error is worth retrying: throttling, HTTP 5xx (but 501 and 505) or 429, or a dropped connection. */
export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode;
  // 501 Not Implemented and 505 are answers, not hiccups: retrying cannot change them.
  if (status === 501 || status === 505 || e.name === 'NotImplemented') return false;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return e.$retryable !== undefined;
}

/** Whether the error is throttling specifically (for metrics). */
export function isThrottling(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name ?? '';
  return /thrott|TooManyRequests|RateExceeded|RequestLimitExceeded/i.test(name);
}

/** Full-jitter sleep before attempt `attempt + 1` (attempt counts from 0), ms. */
export function backoffMs(attempt: number, o: Pick<RetryOptions, 'baseMs' | 'capMs' | 'random'>): number {
  return Math.floor(o.random() * Math.min(o.capMs, o.baseMs * 2 ** attempt));
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or `maxAttempts` is reached.
 * @param onAttempt called after each attempt with its error (undefined on success).
 * @throws the last error.
 */
export async function withRetry<T>(fn: () => Promise<T>, options: Partial<RetryOptions> = {}, onAttempt?: (err: unknown) => void): Promise<T> {
  const o: RetryOptions = { ...DEFAULT_RETRY, ...options };
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await fn();
      onAttempt?.(undefined);
      return value;
    } catch (err) {
      onAttempt?.(err);
      if (attempt + 1 >= o.maxAttempts || !isRetryable(err)) throw err;
      await o.sleep(backoffMs(attempt, o));
    }
  }
}
