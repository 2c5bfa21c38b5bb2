/**
 * The BullMQ side of the worker: the processor that runs {@link runAnalysis} under a job timeout, the `Worker`
 * with its lock and stalled-job settings, and a `close()` bounded by a grace period.
 *
 * BullMQ facts used (reference/bullmq-notes.md): there is no built-in job timeout, so the processor aborts its own
 * AbortController after JOB_TIMEOUT_MS (ffmpeg is killed, S3/Blob requests are cancelled, AI calls stop being
 * awaited) and the attempt fails with `job_timeout`, retried like any transient error; `worker.close()` has no
 * timeout either, so {@link closeWorker} races it with the grace period; a SIGKILLed worker's active job is moved
 * back to wait by another worker's stalled check once its lock expires (lockDuration 20 s, checked every 10 s
 * here, against 30 s/30 s by default, so recovery takes ≤ ~30 s of the 2-minute budget).
 */
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { TransientError, errorMessage } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { AnalysisJobData } from '../analyses/types.ts';
import { runAnalysis, type PipelineDeps } from './pipeline.ts';
import { ContentBusyError } from './content-reuse.ts';

/** What BullMQ stores as a completed job's return value: a summary (the result itself lives in the store). */
export interface AnalysisJobSummary {
  analysisId: string;
  keyframes: number;
  totalCostUsd: number;
  totalMs: number;
}

/** Settings of the BullMQ worker. */
export interface WorkerSettings {
  /** QUEUE_NAME. */
  queueName: string;
  /** BullMQ key prefix (REDIS_KEY_PREFIX). */
  prefix: string;
  /** Jobs in parallel in this process (WORKER_CONCURRENCY). */
  concurrency: number;
  /** Wall-clock limit of one attempt, ms (JOB_TIMEOUT_MS). */
  jobTimeoutMs: number;
  /** Job lock duration, ms; renewed every half. @defaultValue 20000 */
  lockDurationMs?: number;
  /** Interval of the stalled-job check, ms. @defaultValue 10000 */
  stalledIntervalMs?: number;
  /** Worker name stored on the jobs it takes (e.g. the host name). */
  name?: string;
}

/**
 * The processor: runs one attempt with a timeout. When the pipeline finds another analysis of the same content
 * running ({@link ContentBusyError}), the job is moved to the delayed set for the time it asks (BullMQ's
 * `moveToDelayed` + `DelayedError`: not an attempt, not a failure) with the content hash added to its data.
 * @returns a summary for BullMQ's return value.
 * @throws whatever {@link runAnalysis} throws (UnrecoverableError for terminal failures); DelayedError when delayed.
 */
export function createAnalysisProcessor(deps: PipelineDeps, settings: Pick<WorkerSettings, 'jobTimeoutMs'>) {
  return async (job: Job<AnalysisJobData>, token?: string, cancel?: AbortSignal): Promise<AnalysisJobSummary> => {
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new TransientError('job_timeout', `analysis attempt exceeded the job timeout of ${settings.jobTimeoutMs} ms and was aborted`)),
      settings.jobTimeoutMs,
    );
    const signal = cancel ? AbortSignal.any([timeout.signal, cancel]) : timeout.signal;
    try {
      const result = await runAnalysis(job.data, deps, { signal, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 });
      return { analysisId: job.data.analysisId, keyframes: result.keyframes.length, totalCostUsd: result.totalCostUsd, totalMs: result.timingsMs.total ?? 0 };
    } catch (err) {
      if (!(err instanceof ContentBusyError)) throw err;
      if (!token) throw new TransientError('content_busy', `${err.message} (no lock token to delay the job with: retried instead)`);
      await job.updateData({ ...job.data, contentSha256: err.sha256 });
      await job.moveToDelayed(Date.now() + err.retryInMs, token);
      throw new DelayedError();
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Creates and starts the worker.
 * @param connection a connection made with `createRedis(url, 'worker')` (`maxRetriesPerRequest: null`); BullMQ
 *   duplicates it for its blocking connection.
 */
export function createAnalysisWorker(connection: Redis, deps: PipelineDeps, settings: WorkerSettings): Worker<AnalysisJobData, AnalysisJobSummary> {
  const log: Logger = deps.logger;
  const worker = new Worker<AnalysisJobData, AnalysisJobSummary>(settings.queueName, createAnalysisProcessor(deps, settings), {
    connection,
    prefix: settings.prefix,
    concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs ?? 20_000,
    stalledInterval: settings.stalledIntervalMs ?? 10_000,
    maxStalledCount: 1,
    ...(settings.name ? { name: settings.name } : {}),
  });
  worker.on('active', (job) => log.debug({ jobId: job.id, analysisId: job.data.analysisId, attemptsStarted: job.attemptsStarted }, 'job started'));
  worker.on('completed', (job, ret) =>
    log.info(
      { event: 'job_completed', jobId: job.id, analysisId: job.data.analysisId, attemptsStarted: job.attemptsStarted, totalMs: ret.totalMs, waitMs: (job.processedOn ?? 0) - job.timestamp },
      'job completed',
    ),
  );
  worker.on('failed', (job, err) =>
    log.warn({ event: 'job_failed', jobId: job?.id, analysisId: job?.data.analysisId, attemptsMade: job?.attemptsMade, error: errorMessage(err) }, 'job failed'),
  );
  worker.on('stalled', (jobId) => log.warn({ event: 'job_stalled', jobId }, 'job stalled: moved back to wait'));
  worker.on('error', (err) => log.error({ err: errorMessage(err) }, 'worker error'));
  return worker;
}

/**
 * Closes the worker: no new jobs, active ones finish; gives up waiting after `graceMs` (jobs still running then
 * are recovered as stalled by another worker).
 * @returns `closed` when every active job finished in time, `timeout` otherwise.
 */
export async function closeWorker(worker: Worker, graceMs: number): Promise<'closed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  try {
    return await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
