/**
 * Claims on content (issue 4 point 5, under concurrency): before an analysis does any work on some content (a
 * tenant's video bytes with effective options), it claims `<prefix>:content-claim:<tenantId>:<sha256>:<optionsHash>`
 * in Redis; an analysis of the same content that finds the claim held by another waits for that one's result
 * instead of doing the work twice (services/worker/pipeline.ts defers its job).
 *
 * The claim is a lease, not a lock held forever:
 * - it is taken atomically by a Lua script (free, or already ours → set to our analysis id with a TTL of
 *   `leaseMs`), so of two analyses that try at once exactly one gets it;
 * - the owner renews it every `leaseMs / 3` while it works, compare-and-set, so a live owner keeps it however long
 *   the work takes;
 * - it is ours again when held by our own analysis id: the re-delivered job of a SIGKILLed worker (BullMQ's
 *   stalled-job recovery; one attempt of an analysis runs at a time under the job lock) takes over its own claim
 *   at once;
 * - when the owner dies (SIGKILL, OOM, a stalled process) the renewals stop and the claim expires `leaseMs` later,
 *   so a waiter takes it over: a claim can delay others, never block them for good;
 * - it is released (compare-and-delete) when the owner's attempt ends, whatever the outcome, after a success has
 *   been recorded in the content index.
 * The worker runtime uses the BullMQ job lock duration as `leaseMs`, the same notion of "this worker is alive".
 */
import type { Redis } from 'ioredis';
import { LuaScript } from '../ai/lua-script.ts';
import { errorMessage } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';

/**
 * KEYS[1] the claim; ARGV[1] our analysis id, ARGV[2] lease, ms. Returns `{1, id, lease}` when the claim is now
 * ours, `{0, owner, pttl}` when another analysis holds it.
 */
const ACQUIRE = new LuaScript(
  "local cur = redis.call('GET', KEYS[1]) " +
    "if (not cur) or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1, ARGV[1], tonumber(ARGV[2])} end " +
    "return {0, cur, redis.call('PTTL', KEYS[1])}",
);
/** KEYS[1] the claim; ARGV[1] our id, ARGV[2] lease, ms. 1 when renewed, 0 when no longer ours. */
const RENEW = new LuaScript("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0");
/** KEYS[1] the claim; ARGV[1] our id. 1 when deleted, 0 when it was not ours. */
const RELEASE = new LuaScript("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0");

/** Timings of claims. */
export interface ContentClaimSettings {
  /** Lifetime of a claim without renewal, ms: how long a dead owner delays others. */
  leaseMs: number;
  /** How long a waiter waits before it looks again, ms. */
  retryDelayMs: number;
}

/** The content a claim is about. */
export interface ClaimedContent {
  tenantId: string;
  /** SHA-256 hex of the video bytes. */
  sha256: string;
  /** {@link ../analyses/content-index.ts optionsHash} of the effective options. */
  optsHash: string;
}

/** Outcome of {@link ContentClaims.acquire}. */
export type ClaimOutcome = { owned: true; lease: ContentLease } | { owned: false; ownerId: string; ttlMs: number };

/** Claims on content in Redis. */
export class ContentClaims {
  readonly settings: Readonly<ContentClaimSettings>;
  private readonly redis: Redis;
  private readonly prefix: string;

  /**
   * @param redis a general connection.
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   * @throws RangeError when `leaseMs` < 300 or `retryDelayMs` < 1.
   */
  constructor(redis: Redis, prefix: string, settings: ContentClaimSettings) {
    if (!(settings.leaseMs >= 300)) throw new RangeError(`content claim lease must be ≥ 300 ms, got ${settings.leaseMs}`);
    if (!(settings.retryDelayMs >= 1)) throw new RangeError(`content claim retry delay must be ≥ 1 ms, got ${settings.retryDelayMs}`);
    this.redis = redis;
    this.prefix = prefix;
    this.settings = { ...settings };
  }

  /** `<prefix>:content-claim:<tenantId>:<sha256>:<optionsHash>`. */
  key(c: ClaimedContent): string {
    return `${this.prefix}:content-claim:${c.tenantId}:${c.sha256}:${c.optsHash}`;
  }

  /**
   * Claims `content` for `analysisId`. When the claim is ours, the returned lease renews itself until released.
   * @param log where a lost renewal is reported.
   */
  async acquire(content: ClaimedContent, analysisId: string, log: Logger): Promise<ClaimOutcome> {
    const key = this.key(content);
    const reply = await ACQUIRE.run(this.redis, [key], [analysisId, this.settings.leaseMs]);
    const [owned, owner, ttl] = Array.isArray(reply) ? reply : [];
    if (Number(owned) === 1) return { owned: true, lease: new ContentLease(this.redis, key, analysisId, this.settings.leaseMs, log) };
    return { owned: false, ownerId: String(owner), ttlMs: Math.max(0, Number(ttl)) };
  }
}

/** A held claim: renews itself every third of the lease until {@link ContentLease.release}. */
export class ContentLease {
  readonly key: string;
  private readonly redis: Redis;
  private readonly analysisId: string;
  private readonly timer: NodeJS.Timeout;
  private released = false;

  constructor(redis: Redis, key: string, analysisId: string, leaseMs: number, log: Logger) {
    this.redis = redis;
    this.key = key;
    this.analysisId = analysisId;
    this.timer = setInterval(() => {
      RENEW.run(this.redis, [this.key], [this.analysisId, leaseMs]).then(
        (r) => {
          if (Number(r) === 1 || this.released) return;
          // Expired (Redis unreachable for longer than the lease) and maybe taken: the work goes on, the result stays
          // correct, another analysis may duplicate it.
          clearInterval(this.timer);
          log.warn({ event: 'content_claim_lost', key: this.key }, 'content claim lost: a concurrent analysis of the same content may repeat the work');
        },
        (err: unknown) => log.warn({ err: errorMessage(err) }, 'content claim renewal failed'),
      );
    }, Math.max(100, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  /**
   * Stops renewing and deletes the claim if it is still ours. Idempotent.
   * @returns true when the claim was deleted by this call.
   */
  async release(): Promise<boolean> {
    if (this.released) return false;
    this.released = true;
    clearInterval(this.timer);
    return Number(await RELEASE.run(this.redis, [this.key], [this.analysisId])) === 1;
  }
}
