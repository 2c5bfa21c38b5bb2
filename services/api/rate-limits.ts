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
 * Each process takes its points from those counters in leases (rate-leases.ts): a busy key costs about ten Redis
 * calls a second per process instead of one per request, a quiet key or a small limit one call per request as
 * before. No more than the limit is ever admitted per window across all replicas; a key may be refused up to
 * `replicas × (lease − 1)` requests early, where a lease is at most 1 % of the limit (limits under 200 are exact).
 * A key over its limit is refused from memory until its window ends (a flood costs one Redis call per replica per
 * window), and a `RateLimiterMemory` insurance limiter with the same limits answers while Redis is unreachable, so
 * an outage degrades limits to per-replica instead of failing /healthz (the route that must not depend on Redis).
 *
 * The decision is published in the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-06:
 * `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` in delta-seconds, and `RateLimit-Policy`).
 */
import * as nodeCrypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { QuotaExceededError } from '../platform/errors.ts';
import { LeasedLimiter, type LeaseDecision, type LeaseOptions } from './rate-leases.ts';

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

/** One-shot `crypto.hash` (Node ≥ 20.12: twice as fast as a Hash object for a short input), else `createHash`. */
const sha256Hex: (data: string) => string =
  typeof nodeCrypto.hash === 'function' ? (data) => nodeCrypto.hash('sha256', data, 'hex') : (data) => nodeCrypto.createHash('sha256').update(data).digest('hex');

/** The limiter key of a bearer token: 32 hex characters of its SHA-256 (the token never leaves the process). */
export function tokenKey(token: string): string {
  return sha256Hex(token).slice(0, 32);
}

function decisionOf(limiter: LimiterName, limit: number, d: LeaseDecision): RateDecision {
  return { limiter, limit, remaining: d.remaining, resetSec: Math.max(1, Math.ceil(d.msBeforeReset / 1000)) };
}

/** The decision, or RateLimitedError when refused. */
function settle(limiter: LimiterName, limit: number, d: LeaseDecision): RateDecision {
  const decision = decisionOf(limiter, limit, d);
  if (!d.allowed) throw new RateLimitedError(decision);
  return decision;
}

/** The tighter of two decisions (fewest requests left): the one to publish in headers. */
function tighter(a: RateDecision, b: RateDecision): RateDecision {
  return b.remaining < a.remaining ? b : a;
}

/** Limits of one API process. */
export class RateLimits {
  readonly settings: RateLimitSettings;
  private readonly limiters: Record<LimiterName, LeasedLimiter>;

  /**
   * @param redis the API's Redis connection (producer: fails fast while Redis is down).
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   * @param leases lease sizing (rate-leases.ts). @defaultValue DEFAULT_LEASE_OPTIONS
   */
  constructor(redis: Redis, prefix: string, settings: RateLimitSettings, leases: LeaseOptions = {}) {
    this.settings = settings;
    const make = (name: LimiterName, points: number): LeasedLimiter =>
      new LeasedLimiter(
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}:rl:${name}`,
          points,
          duration: RATE_WINDOW_SEC,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ keyPrefix: `${prefix}:rl:${name}`, points, duration: RATE_WINDOW_SEC }),
        }),
        points,
        RATE_WINDOW_SEC,
        leases,
      );
    this.limiters = {
      tenant: make('tenant', settings.perTenantPerMin),
      token: make('token', settings.perTokenPerMin),
      client: make('client', settings.perClientPerMin),
    };
  }

  /**
   * Counts one request against `name`'s `key`.
   * @throws RateLimitedError when the key is over its limit; other errors only when both Redis and the in-memory
   *   insurance fail (a bug).
   */
  async consume(name: LimiterName, key: string): Promise<RateDecision> {
    const limiter = this.limiters[name];
    return settle(name, limiter.limit, limiter.tryConsume(key) ?? (await limiter.consume(key)));
  }

  /**
   * {@link consumeAuthenticated} without waiting, when both keys' local leases can answer (nearly every request of a
   * busy caller); `undefined` when Redis must be asked, and then nothing was counted.
   * @throws RateLimitedError as consumeAuthenticated.
   */
  tryConsumeAuthenticated(tenantId: string, tokenId: string): RateDecision | undefined {
    const tenant = this.limiters.tenant;
    const token = this.limiters.token;
    // Peek both before taking from either, so that `undefined` never leaves one counted.
    if (!tenant.canAnswer(tenantId) || !token.canAnswer(tokenId)) return undefined;
    const a = tenant.tryConsume(tenantId);
    const b = token.tryConsume(tokenId);
    if (!a || !b) throw new Error('rate leases changed between peek and take'); // single-threaded: cannot happen
    return this.combine(a, b);
  }

  /**
   * Counts an authenticated request against its tenant and its token (both at once; from the local leases when they
   * hold points, else in Redis).
   * @returns the tighter decision (fewest requests left), the one to publish in headers.
   * @throws RateLimitedError from whichever limit is exceeded (the one that frees up last when both are).
   */
  async consumeAuthenticated(tenantId: string, tokenId: string): Promise<RateDecision> {
    const tenant = this.limiters.tenant;
    const token = this.limiters.token;
    const [a, b] = await Promise.all([tenant.tryConsume(tenantId) ?? tenant.consume(tenantId), token.tryConsume(tokenId) ?? token.consume(tokenId)]);
    return this.combine(a, b);
  }

  private combine(tenant: LeaseDecision, token: LeaseDecision): RateDecision {
    const a = decisionOf('tenant', this.limiters.tenant.limit, tenant);
    const b = decisionOf('token', this.limiters.token.limit, token);
    if (!tenant.allowed && !token.allowed) throw new RateLimitedError(b.resetSec > a.resetSec ? b : a);
    if (!tenant.allowed) throw new RateLimitedError(a);
    if (!token.allowed) throw new RateLimitedError(b);
    return tighter(a, b);
  }

  /** `RateLimit-Policy` value of the authenticated limits, or of the client limit. */
  policy(kind: 'authenticated' | 'client'): string {
    if (kind === 'client') return `${this.settings.perClientPerMin};w=${RATE_WINDOW_SEC};comment="client"`;
    return `${this.settings.perTenantPerMin};w=${RATE_WINDOW_SEC};comment="tenant", ${this.settings.perTokenPerMin};w=${RATE_WINDOW_SEC};comment="token"`;
  }
}
