/**
 * Request rate limits in Redis with `rate-limiter-flexible` (RateLimiterRedis on the API's ioredis connection):
 * fixed 60 s windows, one counter per key, shared by every API replica.
 *
 * - `tenant`: every authenticated /v1 request of a tenant (API_RATE_LIMIT_PER_TENANT_PER_MIN);
 * - `token`: every authenticated /v1 request made with one bearer token (API_RATE_LIMIT_PER_TOKEN_PER_MIN), keyed
 *   by a SHA-256 prefix of the token so the token itself never reaches Redis;
 * - `client`: requests without a valid token, per client address (API_RATE_LIMIT_PER_CLIENT_PER_MIN): the open
 *   health routes, and /v1 requests that fail authentication (so token guessing is throttled too).
 *
 * Keys: `<prefix>:rl:<limiter>:<key>` (an integer with a 60 s expiry; rate-limiter-flexible's Lua script
 * `SET NX EX` + `INCRBY` + `PTTL`, one round trip).
 *
 * Two library options keep the cost down and the API up:
 * - `inMemoryBlockOnConsumed = points + 1`: once a key is over its limit, this replica rejects it from memory until
 *   the window ends, without asking Redis again (a flood costs one Redis call per replica per window);
 * - `insuranceLimiter`: a RateLimiterMemory with the same limits answers while Redis is unreachable, so an outage
 *   degrades limits to per-replica instead of failing /healthz (the route that must not depend on Redis).
 *
 * The decision is published in the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-06:
 * `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` in delta-seconds, and `RateLimit-Policy`).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { QuotaExceededError } from '../platform/errors.ts';

/** Window of every limit, seconds. */
export const RATE_WINDOW_SEC = 60;

/** The three limiters. */
export type LimiterName = 'tenant' | 'token' | 'client';

/** Requests per minute of each limiter. */
export interface RateLimitSettings {
  /** API_RATE_LIMIT_PER_TENANT_PER_MIN. */
  perTenantPerMin: number;
  /** API_RATE_LIMIT_PER_TOKEN_PER_MIN. */
  perTokenPerMin: number;
  /** API_RATE_LIMIT_PER_CLIENT_PER_MIN. */
  perClientPerMin: number;
}

/** One limiter's answer for one request. */
export interface RateDecision {
  limiter: LimiterName;
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the current window (0 when rejected). */
  remaining: number;
  /** Seconds until the window resets (at least 1 while any is used). */
  resetSec: number;
}

/** 429 `rate_limited`: the caller went over `decision.limiter`'s limit; retry after `retryAfterMs`. */
export class RateLimitedError extends QuotaExceededError {
  readonly decision: RateDecision;
  constructor(decision: RateDecision) {
    super(`rate limit exceeded: at most ${decision.limit} requests per ${RATE_WINDOW_SEC} s per ${decision.limiter}; retry in ${decision.resetSec} s`, decision.resetSec * 1000, 'rate_limited');
    this.decision = decision;
  }
}

/** The limiter key of a bearer token: 32 hex characters of its SHA-256 (the token never leaves the process). */
export function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}

function decisionOf(limiter: LimiterName, limit: number, res: RateLimiterRes): RateDecision {
  return { limiter, limit, remaining: Math.max(0, res.remainingPoints), resetSec: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
}

/** Limits of one API process. */
export class RateLimits {
  readonly settings: RateLimitSettings;
  private readonly limiters: Record<LimiterName, RateLimiterRedis>;

  /**
   * @param redis the API's Redis connection (producer: fails fast while Redis is down).
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   */
  constructor(redis: Redis, prefix: string, settings: RateLimitSettings) {
    this.settings = settings;
    const make = (name: LimiterName, points: number): RateLimiterRedis =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${prefix}:rl:${name}`,
        points,
        duration: RATE_WINDOW_SEC,
        rejectIfRedisNotReady: true,
        inMemoryBlockOnConsumed: points + 1,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${prefix}:rl:${name}`, points, duration: RATE_WINDOW_SEC }),
      });
    this.limiters = {
      tenant: make('tenant', settings.perTenantPerMin),
      token: make('token', settings.perTokenPerMin),
      client: make('client', settings.perClientPerMin),
    };
  }

  private limitOf(name: LimiterName): number {
    return name === 'tenant' ? this.settings.perTenantPerMin : name === 'token' ? this.settings.perTokenPerMin : this.settings.perClientPerMin;
  }

  /**
   * Counts one request against `name`'s `key`.
   * @throws RateLimitedError when the key is over its limit; other errors only when both Redis and the in-memory
   *   insurance fail (a bug).
   */
  async consume(name: LimiterName, key: string): Promise<RateDecision> {
    const limit = this.limitOf(name);
    try {
      return decisionOf(name, limit, await this.limiters[name].consume(key));
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimitedError(decisionOf(name, limit, err));
      throw err;
    }
  }

  /**
   * Counts an authenticated request against its tenant and its token (both round trips in parallel).
   * @returns the tighter decision (fewest requests left), the one to publish in headers.
   * @throws RateLimitedError from whichever limit is exceeded (the one that frees up last when both are).
   */
  async consumeAuthenticated(tenantId: string, tokenId: string): Promise<RateDecision> {
    const [tenant, token] = await Promise.allSettled([this.consume('tenant', tenantId), this.consume('token', tokenId)]);
    const rejected = [tenant, token].flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (rejected.length > 0) {
      const limited = rejected.filter((e): e is RateLimitedError => e instanceof RateLimitedError);
      if (limited.length < rejected.length) throw rejected.find((e) => !(e instanceof RateLimitedError));
      throw limited.reduce((a, b) => (b.decision.resetSec > a.decision.resetSec ? b : a));
    }
    const decisions = [tenant, token].map((r) => (r as PromiseFulfilledResult<RateDecision>).value);
    return decisions.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  }

  /** `RateLimit-Policy` value of the authenticated limits, or of the client limit. */
  policy(kind: 'authenticated' | 'client'): string {
    if (kind === 'client') return `${this.settings.perClientPerMin};w=${RATE_WINDOW_SEC};comment="client"`;
    return `${this.settings.perTenantPerMin};w=${RATE_WINDOW_SEC};comment="tenant", ${this.settings.perTokenPerMin};w=${RATE_WINDOW_SEC};comment="token"`;
  }
}
