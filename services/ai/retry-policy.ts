/**
 * When and how long to wait before trying a model call again.
 *
 * Facts (reference/azure-ai-inference.md §6): throttled responses may carry `retry-after-ms` or
 * `x-ms-retry-after-ms` (milliseconds), or `retry-after` (seconds or an HTTP date), checked in that order by the
 * Azure SDK's own throttling strategy; some carry none (and the SDK then does not retry a 429 at all, which is why
 * its retries are off and the coordinator retries). The SDK's exponential strategy waits a uniform draw from
 * [d/2, d] with d doubling from 1000 ms; the coordinator uses the same jitter shape with its own base and cap.
 */

/** The retry budget of one coordinated call. */
export interface RetryOptions {
  /**
   * Attempts in all, the first included. 6 = Portkey's "up to 5 retries" (reference/ai-gateway-anchors.md §1);
   * the wait budget is what usually ends a call. @defaultValue 6
   */
  maxAttempts?: number;
  /** Total time one call may spend waiting between attempts, ms. @defaultValue 30000 */
  maxTotalWaitMs?: number;
  /** First backoff step when the response names no wait, ms. @defaultValue 500 */
  baseDelayMs?: number;
  /** Cap of one backoff step, ms. @defaultValue 8000 */
  maxDelayMs?: number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryBudget = Required<RetryOptions>;

/** Fills in defaults and clamps nonsense (fewer than 1 attempt, negative waits). */
export function retryBudget(o: RetryOptions = {}): RetryBudget {
  return {
    maxAttempts: Math.max(1, Math.floor(o.maxAttempts ?? 6)),
    maxTotalWaitMs: Math.max(0, o.maxTotalWaitMs ?? 30_000),
    baseDelayMs: Math.max(1, o.baseDelayMs ?? 500),
    maxDelayMs: Math.max(1, o.maxDelayMs ?? 8_000),
  };
}

/** Lower-cased response headers. */
export type HeaderMap = Readonly<Record<string, string>>;

function nonNegativeNumber(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The wait the server asked for, in ms, or `undefined` when it named none (or named nonsense: negative, -1,
 * unparseable). Order: `retry-after-ms`, `x-ms-retry-after-ms`, `retry-after` (delta-seconds or HTTP date).
 * @param nowMs the current time, for HTTP dates (ms since the epoch).
 */
export function serverRetryAfterMs(headers: HeaderMap, nowMs: number = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = nonNegativeNumber(headers[name]);
    if (ms !== undefined) return Math.ceil(ms);
  }
  const ra = headers['retry-after'];
  if (ra === undefined) return undefined;
  const seconds = nonNegativeNumber(ra);
  if (seconds !== undefined) return Math.ceil(seconds * 1000);
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * Jittered exponential backoff: d = min(maxDelayMs, baseDelayMs × 2^(attempt−1)), wait uniform in [d/2, d].
 * @param attempt the attempt that just failed, 1-based.
 * @param random a uniform [0, 1) source (injectable for unit tests).
 */
export function backoffMs(attempt: number, budget: RetryBudget, random: () => number = Math.random): number {
  const d = Math.min(budget.maxDelayMs, budget.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

/**
 * Parses a rate-limit reset header such as `x-ratelimit-reset-tokens`: plain seconds (`6`, `0.5`) or Go-style
 * durations (`1m30s`, `250ms`, `6s`). @returns ms, or undefined when absent or unparseable.
 */
export function resetHeaderMs(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const plain = nonNegativeNumber(raw);
  if (plain !== undefined) return Math.ceil(plain * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (const m of raw.trim().matchAll(re)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
    matched += m[0];
  }
  return matched.length > 0 && matched === raw.trim() ? Math.ceil(total) : undefined;
}

/**
 * Reads an `x-ratelimit-remaining-*` count defensively: undefined when absent, negative (`-1` has been seen with
 * no meaning: MS Q&A 5625878) or not an integer.
 */
export function remainingHeader(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}
