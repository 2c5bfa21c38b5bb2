/**
 * GDPR erasure of one analysis (`DELETE /v1/analyses/{id}`, GDPR Art. 17): everything the engine holds about it.
 *
 * What is erased, in this order:
 * 1. the BullMQ job (its data names the tenant and the upload), if it still exists in any state, and the analysis's
 *    place in the content index (services/analyses/content-index.ts), so no later upload reuses it; an analysis that
 *    reused this one owns copies of its keyframes and is not affected;
 * 2. the keyframe blobs, every blob under `<analysisId>/` in the keyframes container (services/worker/keyframe-store.ts
 *    names them `<analysisId>/keyframe-<n>-<ms>.jpg`);
 * 3. the uploaded video in the temp bucket, if the worker has not deleted it yet (note: an upload analysed twice is
 *    one object, so erasing either analysis erases the video both used);
 * 4. the AI response-cache entries the analysis produced or used, listed in the set
 *    `<prefix>:ai:cache-index:<analysisId>` of request hashes, each entry being `<prefix>:ai:cache:<hash>`
 *    (services/ai/response-cache.ts, whose key helpers this module uses); the AI coordinator adds to that set, with
 *    the cache TTL, every entry it stores or serves for the analysis; `cacheEntries` counts the entries deleted
 *    (one another analysis shared goes too; one already expired is not counted);
 * 5. the per-analysis usage counters `<prefix>:usage:<tenant>:analysis:<analysisId>` (services/ai/usage-ledger.ts);
 *    the tenant's per-day totals stay, as billing records that name no analysis;
 * 6. last, in one Redis transaction: the record, its tenant-index entry and its Idempotency-Key mapping.
 * Every step is idempotent and the record goes last, so a failure part-way (503) leaves the record in place and
 * repeating the DELETE finishes the job; nothing is left orphaned behind a record that is already gone.
 *
 * A running analysis is refused with 409 `analysis_running` (retry once it has finished): its worker would keep
 * writing keyframes and usage after the erasure. The same holds for a queued analysis whose job a worker has just
 * locked (BullMQ refuses to remove a locked job). Cancelling a running job is not offered: BullMQ cannot stop a
 * processor from outside, so "erase after cancel" could only wait for the run to end anyway.
 */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AnalysisStore } from '../../analyses/store.ts';
import { forgetContentEntries } from '../../analyses/content-index.ts';
import { cacheEntryKey, cacheIndexKey } from '../../ai/response-cache.ts';
import type { AnalysisJobData, AnalysisRecord } from '../../analyses/types.ts';
import { AppError, TransientError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Principal } from '../auth/principal.ts';
import { uploadPrefix } from './presign-upload.ts';

/** What {@link eraseAnalysis} needs. */
export interface EraseAnalysisDeps {
  store: AnalysisStore;
  queue: Queue<AnalysisJobData>;
  s3: S3Client;
  /** The temp bucket (S3_TEMP_BUCKET). */
  bucket: string;
  /** The keyframes container (KEYFRAMES_CONTAINER); without it erasure is refused (see {@link eraseAnalysis}). */
  keyframes?: ContainerClient;
  redis: Redis;
  /** REDIS_KEY_PREFIX. */
  prefix: string;
}

/** What was erased; the body of a successful DELETE. */
export interface ErasureReport {
  analysisId: string;
  erased: {
    /** The record was deleted by this request. */
    record: boolean;
    /** Keyframe blobs deleted. */
    keyframes: number;
    /** The uploaded video still existed and was deleted. */
    tempObject: boolean;
    /** The BullMQ job still existed and was removed. */
    job: boolean;
    /** AI response-cache entries deleted. */
    cacheEntries: number;
    /** The Idempotency-Key mapping was deleted. */
    idempotencyKey: boolean;
    /** The per-analysis AI usage counters were deleted. */
    usageRecord: boolean;
  };
}

/** Blob deletions in flight at once. */
const BLOB_DELETE_CONCURRENCY = 8;

/** A cache-index member must be a SHA-256 hex digest; anything else is never turned into a key to delete. */
const CACHE_HASH = /^[0-9a-f]{64}$/;

/** Key of the set of response-cache hashes attributable to an analysis (see the module comment). */
export { cacheIndexKey };

/** Key of an analysis's usage counters (services/ai/usage-ledger.ts `UsageLedger.analysisKey`). */
export function analysisUsageKey(prefix: string, tenantId: string, analysisId: string): string {
  return `${prefix}:usage:${tenantId}:analysis:${analysisId}`;
}

function running(id: string): AppError {
  return new AppError('analysis_running', `analysis ${id} is running; erase it once it has finished`, 409, { analysisId: id });
}

async function removeJob(queue: Queue<AnalysisJobData>, record: AnalysisRecord): Promise<boolean> {
  const job = await queue.getJob(record.id);
  if (!job) return false;
  try {
    await job.remove();
    return true;
  } catch (err) {
    if (err instanceof Error && /locked by another worker/.test(err.message)) throw running(record.id);
    throw err;
  }
}

/** Azure Storage answered 5xx (RestError `statusCode`): an outage, retry later (503), not our bug (500). */
function asBlobOutage(err: unknown): unknown {
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && status >= 500 ? new TransientError('service_unavailable', 'a backing service is temporarily unavailable; retry later', { cause: err }) : err;
}

async function deleteKeyframes(container: ContainerClient, analysisId: string): Promise<number> {
  try {
    return await deleteKeyframeBlobs(container, analysisId);
  } catch (err) {
    // No container yet (a dev stack whose worker never ran): there are no keyframes to erase.
    if ((err as { code?: unknown }).code === 'ContainerNotFound') return 0;
    throw asBlobOutage(err);
  }
}

async function deleteKeyframeBlobs(container: ContainerClient, analysisId: string): Promise<number> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix: `${analysisId}/` })) names.push(blob.name);
  let deleted = 0;
  for (let i = 0; i < names.length; i += BLOB_DELETE_CONCURRENCY) {
    const results = await Promise.all(names.slice(i, i + BLOB_DELETE_CONCURRENCY).map((name) => container.deleteBlob(name, { deleteSnapshots: 'include' }).then(
      () => true,
      (err: unknown) => {
        if ((err as { statusCode?: unknown }).statusCode === 404) return false;
        throw err;
      },
    )));
    deleted += results.filter(Boolean).length;
  }
  return deleted;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

async function deleteTempObject(s3: S3Client, bucket: string, record: AnalysisRecord): Promise<boolean> {
  // The key was checked against the tenant's prefix at creation; checked again so erasure never reaches further.
  if (!record.videoKey.startsWith(uploadPrefix(record.tenantId))) return false;
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: record.videoKey }));
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: record.videoKey }));
  return true;
}

async function deleteCacheEntries(redis: Redis, prefix: string, analysisId: string): Promise<number> {
  const index = cacheIndexKey(prefix, analysisId);
  const hashes = (await redis.smembers(index)).filter((h) => CACHE_HASH.test(h));
  const deleted = hashes.length > 0 ? await redis.del(...hashes.map((h) => cacheEntryKey(prefix, h))) : 0;
  await redis.del(index);
  return deleted;
}

/**
 * Erases the caller's tenant's analysis `id`.
 * @throws NotFoundError (404) when it does not exist for the tenant; AppError 409 `analysis_running` while it runs;
 *   TransientError 503 `erasure_unavailable` when the API has no keyframe storage configured (nothing is touched:
 *   an erasure that silently skipped keyframes would be worse than none); dependency errors as thrown (503).
 */
export async function eraseAnalysis(deps: EraseAnalysisDeps, caller: Principal, id: string, log: Logger): Promise<ErasureReport> {
  const record = await deps.store.getForTenant(id, caller.tenantId);
  if (!deps.keyframes) {
    throw new TransientError('erasure_unavailable', 'erasure is unavailable: keyframe storage is not configured on this API; nothing was erased');
  }
  if (record.status === 'running') throw running(id);
  const job = await removeJob(deps.queue, record);
  const contentEntries = await forgetContentEntries(deps.redis, deps.prefix, id);
  const keyframes = await deleteKeyframes(deps.keyframes, id);
  const tempObject = await deleteTempObject(deps.s3, deps.bucket, record);
  const cacheEntries = await deleteCacheEntries(deps.redis, deps.prefix, id);
  const usageRecord = (await deps.redis.del(analysisUsageKey(deps.prefix, record.tenantId, id))) === 1;
  const stored = await deps.store.erase(record);
  const report: ErasureReport = {
    analysisId: id,
    erased: { record: stored.record, keyframes, tempObject, job, cacheEntries, idempotencyKey: stored.idempotencyKey, usageRecord },
  };
  log.info({ event: 'analysis_erased', analysisId: id, tenant: caller.tenantId, erased: report.erased, contentEntries }, 'analysis erased');
  return report;
}
