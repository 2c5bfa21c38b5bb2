/**
 * A rate limit shared through Redis whose points are taken in batches ("leases") instead of one Redis call per
 * request: the pattern of quota-leasing global limiters (Envoy's rate limit quota service, Google's Doorman), where
 * each process asks the shared store for a slice of the budget and spends it locally.
 *
 * The shared count stays in rate-limiter-flexible (`RateLimiterRedis`, fixed windows, one counter per key in Redis,
 * with a `RateLimiterMemory` insurance limiter while Redis is unreachable). A lease of `n` points is one
 * `consume(key, n)`; the grant is what was left below the limit before it: `min(n, limit - (consumed - n))`, so the
 * counter never hands out more than `limit` points per window whatever the number of processes.
 *
 * Accuracy, per key and window (documented bound, tested in test/api/rate-leases.test.ts):
 * - never more than `limit` requests are admitted: every admitted request's point was counted in Redis before it was
 *   admitted, and leased points are dropped when their window ends (a new window starts with a new lease);
 * - fewer may be admitted: points a process leased but did not spend before the window ended are lost, so a key can
 *   be refused up to `processes × (maxLease − 1)` requests early. `maxLease` is at most `maxShare` of the limit
 *   (1 % by default) and at most an eighth of the points not yet leased, so leases shrink to one point as the
 *   window's last points are handed out; limits under `2 / maxShare` (200 by default) lease one point at a time
 *   and are exact.
 * - the lease doubles while one lasts under `targetLeaseMs` at the current request rate and halves when one lasts
 *   over four times that, so a busy key costs at most about `1000 / targetLeaseMs` Redis calls per second per
 *   process (10 by default) and a quiet key one call per request, as without leases.
 *
 * A key whose window is used up is refused from memory until the window ends (no Redis call), as rate-limiter-flexible's
 * `inMemoryBlockOnConsumed` did. Concurrent requests that find the lease empty share one Redis call.
 */
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** What a lease needs of the shared counter: rate-limiter-flexible's `consume(key, points)`. */
export type LeaseStore = Pick<RateLimiterAbstract, 'consume'>;

/** Options of {@link LeasedLimiter}. */
export interface LeaseOptions {
  /** Grow a key's lease while one lasts less than this at the current request rate, ms. @defaultValue 100 */
  targetLeaseMs?: number;
  /** Largest share of the limit one lease may hold (0 < maxShare ≤ 1). @defaultValue 0.01 */
  maxShare?: number;
  /** Clock, ms (tests). @defaultValue Date.now */
  now?: () => number;
}

/** Defaults of {@link LeaseOptions}. */
export const DEFAULT_LEASE_OPTIONS = { targetLeaseMs: 100, maxShare: 0.01 } as const;

/** The answer for one request. */
export interface LeaseDecision {
  /** The request may proceed. */
  allowed: boolean;
  /**
   * Points this process knows to be left in the window after this request: not yet leased by any process, plus
   * this process's unspent lease (other processes' unspent leases are not known here). 0 when refused.
   */
  remaining: number;
  /** Time until the window ends, ms (at least 1). */
  msBeforeReset: number;
}

/** Local state of one key. */
interface KeyLease {
  /** Leased points not spent yet. */
  left: number;
  /** End of the window the points belong to (local clock), ms. */
  windowEndMs: number;
  /** Points of the window nobody had leased yet, as of the last lease. */
  unleased: number;
  /** Size of the next lease. */
  size: number;
  /** When the current lease was granted, ms. */
  grantedAtMs: number;
  /** Requests waiting for the lease in flight. */
  waiting: number;
  /** The lease call in flight, shared by every request that found the lease empty. */
  pending: Promise<void> | undefined;
  /** The window is used up until then, ms: refused from memory. */
  blockedUntilMs: number;
}

/** A rate limit whose points are leased from `store` in batches. */
export class LeasedLimiter {
  /** Requests allowed per window. */
  readonly limit: number;
  private readonly store: LeaseStore;
  private readonly targetLeaseMs: number;
  private readonly shareCap: number;
  private readonly now: () => number;
  private readonly leases = new Map<string, KeyLease>();
  private lastSweepMs: number;
  private readonly windowMs: number;

  /**
   * @param store the shared counter: a rate-limiter-flexible limiter with `points = limit` and `duration = windowSec`
   *   (no `inMemoryBlockOnConsumed`: a used-up key is blocked here).
   * @param limit points per window (the store's `points`).
   * @param windowSec window length, seconds (the store's `duration`); at least 2.
   * @throws Error when `limit` is not a positive integer, `windowSec < 2` or `maxShare` is outside (0, 1].
   */
  constructor(store: LeaseStore, limit: number, windowSec: number, o: LeaseOptions = {}) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`LeasedLimiter: limit must be a positive integer, got ${limit}`);
    if (!(windowSec >= 2)) throw new Error(`LeasedLimiter: windowSec must be at least 2, got ${windowSec}`);
    const maxShare = o.maxShare ?? DEFAULT_LEASE_OPTIONS.maxShare;
    if (!(maxShare > 0 && maxShare <= 1)) throw new Error(`LeasedLimiter: maxShare must be in (0, 1], got ${maxShare}`);
    this.store = store;
    this.limit = limit;
    this.windowMs = windowSec * 1000;
    this.targetLeaseMs = o.targetLeaseMs ?? DEFAULT_LEASE_OPTIONS.targetLeaseMs;
    this.shareCap = Math.max(1, Math.floor(limit * maxShare));
    this.now = o.now ?? Date.now;
    this.lastSweepMs = this.now();
  }

  /** Keys with local state (tests, and the bound on memory: stale keys are dropped once per window). */
  get size(): number {
    return this.leases.size;
  }

  /** Whether {@link tryConsume} would answer `key` now (from the lease, or a refusal while the window is used up). */
  canAnswer(key: string): boolean {
    const s = this.leases.get(key);
    if (!s) return false;
    const t = this.now();
    return (s.left > 0 && t < s.windowEndMs) || t < s.blockedUntilMs;
  }

  /**
   * Takes one point from the local lease when it holds one, without waiting: the path of nearly every request of a
   * busy key. `undefined` when the lease is empty and {@link consume} must ask Redis.
   */
  tryConsume(key: string): LeaseDecision | undefined {
    const t = this.now();
    const s = this.leases.get(key);
    if (!s) return undefined;
    if (s.left > 0 && t < s.windowEndMs) {
      s.left--;
      return { allowed: true, remaining: s.unleased + s.left, msBeforeReset: Math.max(1, s.windowEndMs - t) };
    }
    if (t < s.blockedUntilMs) return { allowed: false, remaining: 0, msBeforeReset: Math.max(1, s.blockedUntilMs - t) };
    return undefined;
  }

  /**
   * Takes one point, leasing more from the store when the local lease is empty.
   * @throws whatever the store throws when neither Redis nor its insurance limiter answers (a bug).
   */
  async consume(key: string): Promise<LeaseDecision> {
    this.sweep();
    let s = this.leases.get(key);
    if (!s) {
      s = { left: 0, windowEndMs: 0, unleased: this.limit, size: 1, grantedAtMs: 0, waiting: 0, pending: undefined, blockedUntilMs: 0 };
      this.leases.set(key, s);
    }
    for (;;) {
      const now = this.tryConsume(key);
      if (now) return now;
      s.waiting++;
      s.pending ??= this.lease(key, s);
      try {
        await s.pending;
      } finally {
        s.waiting--;
      }
    }
  }

  /** Asks the store for the next lease of `key` and applies it to `s`. */
  private lease(key: string, s: KeyLease): Promise<void> {
    const t = this.now();
    // Size: double while leases run out faster than targetLeaseMs, halve when one lasted four times longer; at least
    // the number of requests already waiting; at most shareCap and an eighth of what nobody has leased yet.
    if (s.grantedAtMs > 0 && s.left === 0) {
      const lasted = t - s.grantedAtMs;
      if (lasted < this.targetLeaseMs) s.size *= 2;
      else if (lasted > 4 * this.targetLeaseMs) s.size = Math.ceil(s.size / 2);
    }
    const cap = Math.max(1, Math.min(this.shareCap, Math.floor(s.unleased / 8)));
    const n = Math.max(1, Math.min(Math.max(s.size, s.waiting), cap));
    s.size = n;
    const apply = (res: RateLimiterRes): void => {
      const done = this.now();
      // consumedPoints counts this lease; what was below the limit before it is granted (all of it, or the rest).
      const granted = res.consumedPoints > 0 ? Math.max(0, Math.min(n, this.limit - (res.consumedPoints - n))) : 0;
      // Redis measured msBeforeNext after `t`, so `t + msBeforeNext` is never later than the real end of the window:
      // leased points are never spent in the next window.
      const windowEndMs = t + Math.max(1, res.msBeforeNext);
      // A lease is asked for only when the last one is spent or its window has ended: nothing to carry over.
      s.left = granted;
      s.windowEndMs = windowEndMs;
      s.unleased = Math.max(0, this.limit - res.consumedPoints);
      s.grantedAtMs = done;
      if (s.left === 0) s.blockedUntilMs = windowEndMs;
    };
    return this.store
      .consume(key, n)
      .then(apply, (err: unknown) => {
        if (err instanceof RateLimiterRes) apply(err);
        else throw err;
      })
      .finally(() => {
        s.pending = undefined;
      });
  }

  /** Drops keys whose window has ended and that nobody waits on, at most once per window. */
  private sweep(): void {
    const t = this.now();
    if (t - this.lastSweepMs < this.windowMs) return;
    this.lastSweepMs = t;
    for (const [key, s] of this.leases) {
      if (s.pending === undefined && t >= s.windowEndMs && t >= s.blockedUntilMs) this.leases.delete(key);
    }
  }
}
