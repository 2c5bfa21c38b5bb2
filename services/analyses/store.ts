/**
 * Redis-backed store of analysis records, shared by the API and the worker.
 *
 * Keys (all under the configured prefix):
 * - `<prefix>:analysis:<id>` — the record as JSON;
 * - `<prefix>:idem:<tenant>:<sha256(idempotency key)>` — the analysis id created for that key.
 * Creation is atomic (SET NX on the idempotency key), so two concurrent requests with the same key create one
 * analysis.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { NotFoundError } from '../platform/errors.ts';
import type { AnalysisOptions, AnalysisRecord, AnalysisResult, AnalysisStep, Tier } from './types.ts';

/** Input of {@link AnalysisStore.create}. */
export interface NewAnalysis {
  tenantId: string;
  videoKey: string;
  tier: Tier;
  options: AnalysisOptions;
  idempotencyKey?: string;
}

/** Store of analysis records. */
export class AnalysisStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  /** Records expire this many seconds after their last update (GDPR retention). */
  private readonly ttlSec: number;

  /**
   * @param redis a connection (producer or general).
   * @param prefix key prefix (REDIS_KEY_PREFIX).
   * @param ttlSec retention of a record after its last write, seconds. @defaultValue 30 days
   */
  constructor(redis: Redis, prefix: string, ttlSec = 30 * 24 * 3600) {
    this.redis = redis;
    this.prefix = prefix;
    this.ttlSec = ttlSec;
  }

  private key(id: string): string {
    return `${this.prefix}:analysis:${id}`;
  }

  /**
   * Creates a queued analysis, or returns the existing one when the tenant already used `idempotencyKey`.
   * @returns the record and whether it was created now.
   */
  async create(input: NewAnalysis): Promise<{ record: AnalysisRecord; created: boolean }> {
    const id = `an_${randomUUID().replace(/-/g, '')}`;
    if (input.idempotencyKey) {
      const h = createHash('sha256').update(input.idempotencyKey).digest('hex');
      const idemKey = `${this.prefix}:idem:${input.tenantId}:${h}`;
      const ok = await this.redis.set(idemKey, id, 'EX', this.ttlSec, 'NX');
      if (ok !== 'OK') {
        const existingId = await this.redis.get(idemKey);
        const existing = existingId ? await this.get(existingId) : undefined;
        if (existing) return { record: existing, created: false };
        await this.redis.set(idemKey, id, 'EX', this.ttlSec);
      }
    }
    const now = new Date().toISOString();
    const record: AnalysisRecord = {
      id,
      tenantId: input.tenantId,
      status: 'queued',
      videoKey: input.videoKey,
      tier: input.tier,
      options: input.options,
      ...(input.idempotencyKey ? { idempotencyKey: input.idempotencyKey } : {}),
      createdAt: now,
      updatedAt: now,
      progress: { step: 'queued', percent: 0 },
      attempts: 0,
    };
    await this.redis.set(this.key(id), JSON.stringify(record), 'EX', this.ttlSec);
    return { record, created: true };
  }

  /** The record, or `undefined`. */
  async get(id: string): Promise<AnalysisRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as AnalysisRecord) : undefined;
  }

  /**
   * The record if it belongs to `tenantId`.
   * @throws NotFoundError when missing or owned by another tenant (the two are indistinguishable to the caller).
   */
  async getForTenant(id: string, tenantId: string): Promise<AnalysisRecord> {
    const r = await this.get(id);
    if (!r || r.tenantId !== tenantId) throw new NotFoundError(`analysis ${id} not found`);
    return r;
  }

  /**
   * Applies `patch` to the stored record (read-modify-write under WATCH, retried on conflict).
   * @throws NotFoundError when the record does not exist.
   */
  async update(id: string, patch: (r: AnalysisRecord) => AnalysisRecord): Promise<AnalysisRecord> {
    const key = this.key(id);
    for (let attempt = 0; attempt < 10; attempt++) {
      await this.redis.watch(key);
      const raw = await this.redis.get(key);
      if (!raw) {
        await this.redis.unwatch();
        throw new NotFoundError(`analysis ${id} not found`);
      }
      const next = { ...patch(JSON.parse(raw) as AnalysisRecord), updatedAt: new Date().toISOString() };
      const res = await this.redis.multi().set(key, JSON.stringify(next), 'EX', this.ttlSec).exec();
      if (res) return next;
    }
    throw new Error(`analysis ${id}: too many concurrent updates`);
  }

  /** Marks the analysis running and counts the attempt. */
  markRunning(id: string): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, status: 'running', attempts: r.attempts + 1 }));
  }

  /** Records progress: the current step and overall percent (0–100). */
  setProgress(id: string, step: AnalysisStep, percent: number): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, progress: { step, percent: Math.max(0, Math.min(100, Math.round(percent))) } }));
  }

  /** Stores the result and marks the analysis succeeded. */
  complete(id: string, result: AnalysisResult): Promise<AnalysisRecord> {
    return this.update(id, (r) => {
      const { error: _dropped, ...rest } = r;
      return { ...rest, status: 'succeeded', result, progress: { step: 'done', percent: 100 } };
    });
  }

  /**
   * Records a failure. With `final: false` (a retry will follow) the status stays `queued` with the last error.
   */
  fail(id: string, error: { code: string; message: string }, final: boolean): Promise<AnalysisRecord> {
    return this.update(id, (r) => ({ ...r, status: final ? 'failed' : 'queued', error }));
  }
}
