/**
 * Submitting an analysis: check the upload belongs to the caller and exists, create the record (idempotently), and
 * enqueue the BullMQ job.
 *
 * - Tenant isolation: `videoKey` must be under `uploads/<caller's tenant>/`, so a tenant cannot analyse (and read
 *   results about) another tenant's upload even if it learns the key.
 * - Idempotency: with an `Idempotency-Key`, the analysis first made for that key is answered again. The same key
 *   with a different body is 409 `conflict` (as payment APIs do), never a silent mix-up. The key is looked up BEFORE
 *   the upload is checked: the worker deletes the temporary video once it has analysed it, so a client retrying
 *   after a timeout would otherwise be told `upload_not_found` (and upload again, making a second analysis).
 * - The job id is the analysis id, and BullMQ ignores an add whose job id exists (bullmq-notes.md "Idempotency").
 *   So a repeated key re-adds the job while the analysis is still `queued`: that heals a first request whose
 *   enqueue failed after the record was written (e.g. Redis dropped in between), and is a no-op otherwise.
 * - Priority: TIER_PRIORITY of the caller's tier; every job gets one, since jobs without a priority would jump
 *   ahead of all prioritised ones (bullmq-notes.md "Priorities").
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Queue } from 'bullmq';
import { ConflictError, ValidationError } from '../../platform/errors.ts';
import { ANALYSIS_JOB_NAME, analysisJobOptions } from '../../analyses/queue.ts';
import type { AnalysisStore } from '../../analyses/store.ts';
import { TIER_PRIORITY, type AnalysisJobData, type AnalysisOptions, type AnalysisRecord } from '../../analyses/types.ts';
import type { Principal } from '../auth/principal.ts';
import { uploadPrefix } from './presign-upload.ts';

/** Validated input of `POST /v1/analyses`. */
export interface AnalysisRequest {
  videoKey: string;
  options?: AnalysisOptions;
  /** The `Idempotency-Key` header, 1–128 characters. */
  idempotencyKey?: string;
}

/** What {@link submitAnalysis} needs. */
export interface SubmitAnalysisDeps {
  s3: S3Client;
  /** The temp bucket (S3_TEMP_BUCKET). */
  bucket: string;
  store: AnalysisStore;
  queue: Queue<AnalysisJobData>;
  /** Total attempts per job (JOB_ATTEMPTS). */
  jobAttempts: number;
  /** Largest video accepted, bytes (VIDEO_MAX_BYTES). */
  maxVideoBytes: number;
}

/** Outcome: the record, and whether this request created it (202) or found it by idempotency key (200). */
export interface SubmitResult {
  record: AnalysisRecord;
  created: boolean;
}

/** Options in one canonical shape, so stored and requested options compare by value. */
function canonicalOptions(o: AnalysisOptions | undefined): AnalysisOptions {
  return o?.maxKeyframes !== undefined ? { maxKeyframes: o.maxKeyframes } : {};
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/** Checks that the upload exists and is within the size limit. */
async function checkUpload(deps: SubmitAnalysisDeps, videoKey: string): Promise<void> {
  let bytes: number | undefined;
  try {
    ({ ContentLength: bytes } = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: videoKey })));
  } catch (err) {
    if (isNotFound(err)) {
      throw new ValidationError('no upload exists at videoKey', [{ where: 'body.videoKey', message: 'no uploaded object at this key (upload it first with POST /v1/uploads)' }], 'upload_not_found');
    }
    throw err;
  }
  if (bytes !== undefined && bytes > deps.maxVideoBytes) {
    throw new ValidationError('the uploaded video is too large', [{ where: 'body.videoKey', message: `the object is ${bytes} bytes, more than ${deps.maxVideoBytes}` }]);
  }
}

async function enqueue(deps: SubmitAnalysisDeps, record: AnalysisRecord): Promise<void> {
  const data: AnalysisJobData = { analysisId: record.id, tenantId: record.tenantId, videoKey: record.videoKey, options: record.options };
  await deps.queue.add(ANALYSIS_JOB_NAME, data, { ...analysisJobOptions(deps.jobAttempts), jobId: record.id, priority: TIER_PRIORITY[record.tier] });
}

/**
 * @throws ValidationError `validation_failed` (key outside the tenant's prefix, video too large) or
 * `upload_not_found`; ConflictError when the idempotency key was used with another body; dependency errors as thrown
 * (middleware/errors.ts maps outages to 503).
 */
export async function submitAnalysis(deps: SubmitAnalysisDeps, caller: Principal, req: AnalysisRequest): Promise<SubmitResult> {
  const prefix = uploadPrefix(caller.tenantId);
  if (!req.videoKey.startsWith(prefix)) {
    throw new ValidationError('videoKey is not an upload of your tenant', [{ where: 'body.videoKey', message: `must start with ${prefix}` }]);
  }
  const options = canonicalOptions(req.options);
  const earlier = req.idempotencyKey !== undefined ? await deps.store.findByIdempotencyKey(caller.tenantId, req.idempotencyKey) : undefined;
  if (earlier) return replay(deps, earlier, req.videoKey, options);
  await checkUpload(deps, req.videoKey);
  const { record, created } = await deps.store.create({
    tenantId: caller.tenantId,
    videoKey: req.videoKey,
    tier: caller.tier,
    options,
    ...(req.idempotencyKey !== undefined ? { idempotencyKey: req.idempotencyKey } : {}),
  });
  if (!created) return replay(deps, record, req.videoKey, options);
  await enqueue(deps, record);
  return { record, created };
}

/**
 * Answers a request whose Idempotency-Key already made `record`: the same record (re-enqueued while still queued),
 * or ConflictError when this request's body differs from the one that made it.
 */
async function replay(deps: SubmitAnalysisDeps, record: AnalysisRecord, videoKey: string, options: AnalysisOptions): Promise<SubmitResult> {
  if (record.videoKey !== videoKey || JSON.stringify(canonicalOptions(record.options)) !== JSON.stringify(options)) {
    throw new ConflictError('this Idempotency-Key was already used with a different request body', { analysisId: record.id });
  }
  if (record.status === 'queued') await enqueue(deps, record);
  return { record, created: false };
}
