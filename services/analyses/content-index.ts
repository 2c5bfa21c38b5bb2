/**
 * Idempotency by content (issue 4 point 5): the same video bytes analysed with the same effective options give the
 * same analysis, without running the pipeline again. The worker hashes the video (SHA-256) while streaming it from
 * S3; after an analysis succeeds it records
 * `<prefix>:content:<tenantId>:<sha256 hex>:<options hash>` → analysis id (expiring with the records' retention),
 * and a later analysis of the same tenant that finds a succeeded record through that key reuses its result.
 * Per tenant on purpose: one tenant's upload never reveals or reuses another's analysis.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The options that decide an analysis's outcome, after the worker applied its limits. */
export interface EffectiveOptions {
  /** Keyframes asked for, already capped by KEYFRAMES_MAX. */
  maxKeyframes: number;
}

/** SHA-256 hex of the options as canonical JSON (keys sorted), so equal options hash equal whatever their order. */
export function optionsHash(o: EffectiveOptions): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
  return createHash('sha256').update(canonical).digest('hex');
}

/** The content → analysis index in Redis. */
export class ContentIndex {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSec: number;

  /**
   * @param redis a general connection.
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   * @param ttlSec lifetime of an entry, seconds: the records' retention (RESULT_RETENTION_DAYS), so the index never
   *   outlives what it points at by more than one retention period.
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

  /** The analysis id recorded for this content and options, or `undefined`. */
  async lookup(tenantId: string, sha256: string, optsHash: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(tenantId, sha256, optsHash))) ?? undefined;
  }

  /** Records `analysisId` as the analysis of this content and options (the newest success wins). */
  async remember(tenantId: string, sha256: string, optsHash: string, analysisId: string): Promise<void> {
    await this.redis.set(this.key(tenantId, sha256, optsHash), analysisId, 'EX', this.ttlSec);
  }
}
