/**
 * Idempotency by content (issue 4 point 5): the same video bytes analysed with the same effective options give the
 * same analysis, without running the pipeline again. The worker hashes the video (SHA-256) while streaming it from
 * S3; every analysis of a tenant that succeeded for some content is recorded under
 * - `<prefix>:content:<tenantId>:<sha256 hex>:<options hash>`: a sorted set of analysis ids scored by the time they
 *   were recorded (ms since the epoch), at most {@link CONTENT_INDEX_MAX_MEMBERS} newest kept, expiring with the
 *   records' retention after the last addition;
 * - `<prefix>:content-ref:<analysisId>`: the content key above that names the analysis (same expiry), so that GDPR
 *   erasure, which knows only the analysis, can remove it from the index ({@link forgetContentEntries}).
 * Every analysis of the content is a member, whether it ran the pipeline or reused another one (it owns copies of
 * the keyframes: services/worker/content-reuse.ts), so erasing any one of them leaves the others reusable.
 * Per tenant on purpose: one tenant's upload never reveals or reuses another's analysis.
 *
 * Shared by the worker (lookup, remember) and the API's erasure (forget).
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LuaScript } from '../ai/lua-script.ts';

/** The options that decide an analysis's outcome, after the worker applied its limits. */
export interface EffectiveOptions {
  /** Keyframes asked for, already capped by KEYFRAMES_MAX. */
  maxKeyframes: number;
}

/** Members kept per content key: enough to survive a few erasures, bounded however often the same bytes arrive. */
export const CONTENT_INDEX_MAX_MEMBERS = 8;

/** SHA-256 hex of the options as canonical JSON (keys sorted), so equal options hash equal whatever their order. */
export function optionsHash(o: EffectiveOptions): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * KEYS[1] content set, KEYS[2] the analysis's ref key; ARGV: analysis id, score (ms), ttl (s), max members.
 * Adds the id, trims the oldest beyond the bound, refreshes both expiries.
 */
const REMEMBER = new LuaScript(
  "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) " +
    "local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4]) " +
    "if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end " +
    "redis.call('EXPIRE', KEYS[1], ARGV[3]) redis.call('SET', KEYS[2], KEYS[1], 'EX', ARGV[3]) return 1",
);

/** KEYS[1] the content set, KEYS[2] the ref key; ARGV[1] the id. Removes the id and the ref; returns ZREM's count. */
const FORGET = new LuaScript("local n = redis.call('ZREM', KEYS[1], ARGV[1]) redis.call('DEL', KEYS[2]) return n");

/** `<prefix>:content-ref:<analysisId>`: the content key that names the analysis. */
export function contentRefKey(prefix: string, analysisId: string): string {
  return `${prefix}:content-ref:${analysisId}`;
}

/** The content → analyses index in Redis. */
export class ContentIndex {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSec: number;

  /**
   * @param redis a general connection.
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   * @param ttlSec lifetime of an entry after its last addition, seconds: the records' retention
   *   (RESULT_RETENTION_DAYS), so the index never outlives what it points at by more than one retention period.
   */
  constructor(redis: Redis, prefix: string, ttlSec: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.ttlSec = ttlSec;
  }

  /** `<prefix>:content:<tenantId>:<sha256>:<optionsHash>`. */
  key(tenantId: string, sha256: string, optsHash: string): string {
    return `${this.prefix}:content:${tenantId}:${sha256}:${optsHash}`;
  }

  /** `<prefix>:content-ref:<analysisId>`. */
  refKey(analysisId: string): string {
    return contentRefKey(this.prefix, analysisId);
  }

  /** The analysis ids recorded for this content and options, newest first (possibly none). */
  async lookup(tenantId: string, sha256: string, optsHash: string): Promise<string[]> {
    return this.redis.zrevrange(this.key(tenantId, sha256, optsHash), 0, -1);
  }

  /** Records `analysisId` as an analysis of this content and options. */
  async remember(tenantId: string, sha256: string, optsHash: string, analysisId: string): Promise<void> {
    await REMEMBER.run(this.redis, [this.key(tenantId, sha256, optsHash), this.refKey(analysisId)], [analysisId, Date.now(), this.ttlSec, CONTENT_INDEX_MAX_MEMBERS]);
  }

  /** Removes ids from this content's entry (ids whose record expired or was found unusable). */
  async drop(tenantId: string, sha256: string, optsHash: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(this.key(tenantId, sha256, optsHash), ...ids);
  }

  /** {@link forgetContentEntries} of `analysisId`. */
  forget(analysisId: string): Promise<number> {
    return forgetContentEntries(this.redis, this.prefix, analysisId);
  }
}

/**
 * Removes `analysisId` from the content entry that names it, and its ref (GDPR erasure: no content key may point at
 * an erased analysis). Idempotent.
 * @param prefix key prefix (REDIS_KEY_PREFIX).
 * @returns 1 when the id was still in an entry, else 0.
 */
export async function forgetContentEntries(redis: Redis, prefix: string, analysisId: string): Promise<number> {
  const ref = contentRefKey(prefix, analysisId);
  const key = await redis.get(ref);
  // Only a key of this index is ever touched, whatever the ref holds.
  if (!key || !key.startsWith(`${prefix}:content:`)) {
    await redis.del(ref);
    return 0;
  }
  return Number(await FORGET.run(redis, [key, ref], [analysisId]));
}
