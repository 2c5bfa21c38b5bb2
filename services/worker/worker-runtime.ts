/**
 * Builds a running worker process from its configuration: the model registry from the desired state, the model
 * credential, the Prometheus metrics listener (WORKER_METRICS_PORT: the coordinator's `ai_*` metrics and the process
 * metrics), the AI coordinator, the S3 and Blob clients, the analysis store, the start-up sweep of orphaned temp dirs,
 * and the BullMQ worker. {@link WorkerRuntime.stop} undoes all of it. `main.ts` adds signal handling.
 */
import { mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { isTokenCredential } from '@azure/core-auth';
import type { Worker } from 'bullmq';
import type { Config } from '../platform/config.ts';
import type { Logger } from '../platform/logger.ts';
import { createRedis } from '../platform/redis.ts';
import { createS3Client } from '../platform/aws.ts';
import { createBlobServiceClient } from '../platform/blob.ts';
import { loadDesiredState } from '../platform/desired-state.ts';
import { ValidationError, errorMessage } from '../platform/errors.ts';
import { AnalysisStore } from '../analyses/store.ts';
import { createAiCoordinator } from '../ai/coordinator.ts';
import { aiCoordinatorOptionsFromConfig } from '../ai/options-from-config.ts';
import { createModelCredentialFromConfig } from '../platform/model-credentials.ts';
import { closeWorker, createAnalysisWorker, type AnalysisJobSummary } from './worker.ts';
import { sweepOrphanedJobDirs } from './job-dirs.ts';
import { ContentIndex } from '../analyses/content-index.ts';
import { ContentClaims } from './content-claim.ts';
import { WorkerMetrics } from './metrics.ts';
import { serveMetrics } from '../platform/metrics-server.ts';
import type { PipelineDeps } from './pipeline.ts';
import type { AnalysisJobData } from '../analyses/types.ts';

/** Blob uploads in flight per job. */
const UPLOAD_CONCURRENCY = 4;
/** How long a job waiting for a concurrent analysis of the same content stays delayed before it looks again, ms. */
const CONTENT_WAIT_MS = 1000;
/** ffprobe wall-clock limit, ms: bounded probesize/analyzeduration make a healthy probe take well under a second. */
const PROBE_TIMEOUT_MS = 15_000;

/** A started worker process. */
export interface WorkerRuntime {
  worker: Worker<AnalysisJobData, AnalysisJobSummary>;
  /** Parent of the per-job temp dirs. */
  workDir: string;
  /** `http://host:port/metrics` of the Prometheus listener (WORKER_METRICS_HOST, WORKER_METRICS_PORT). */
  metricsUrl: string;
  /**
   * Stops taking jobs, waits up to `graceMs` for active ones, then closes the coordinator and connections.
   * @returns `closed` when every active job finished within the grace period, else `timeout`.
   */
  stop(graceMs: number): Promise<'closed' | 'timeout'>;
}

/**
 * Starts the worker described by `config`.
 * @throws ValidationError when the desired state is invalid or has no model for a task, or the Blob settings
 *   cannot give a client; Error when the keyframes container is missing outside the dev profile.
 */
export async function startWorkerRuntime(config: Config, logger: Logger): Promise<WorkerRuntime> {
  if (!config.DESIRED_STATE_FILE || !config.S3_TEMP_BUCKET) {
    throw new ValidationError('worker configuration incomplete:', [{ where: 'DESIRED_STATE_FILE, S3_TEMP_BUCKET', message: 'are required for the worker role' }], 'invalid_config');
  }
  const desired = await loadDesiredState(config.DESIRED_STATE_FILE, config.interpolationEnv);
  const models = desired.spec.azure?.models ?? [];
  const missing = (['vision', 'text'] as const).filter((task) => !models.some((m) => m.use.includes(task)));
  if (missing.length > 0) {
    throw new ValidationError(`desired state ${config.DESIRED_STATE_FILE} has no model for:`, missing.map((t) => ({ where: `${config.DESIRED_STATE_FILE} /spec/azure/models`, message: `no model with use "${t}"` })), 'invalid_desired_state');
  }

  const credential = createModelCredentialFromConfig(config);
  // First, so that a port already taken stops the start before any connection is opened.
  const metrics = new WorkerMetrics();
  const metricsServer = await serveMetrics(metrics, logger, config.WORKER_METRICS_HOST, config.WORKER_METRICS_PORT).catch((err: unknown) => {
    // A taken port or an address this host does not have is a configuration problem: exit 78 naming the variables.
    throw new ValidationError('the worker metrics listener cannot start:', [
      { where: 'WORKER_METRICS_HOST, WORKER_METRICS_PORT', message: `cannot listen on ${config.WORKER_METRICS_HOST}:${config.WORKER_METRICS_PORT} (${errorMessage(err)}); choose another port, or 0 for a free one` },
    ], 'invalid_config');
  });
  const metricsUrl = `${metricsServer.url}/metrics`;
  const shared = createRedis(config.REDIS_URL, 'general');
  const workerConnection = createRedis(config.REDIS_URL, 'worker');
  shared.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'redis (shared) error'));
  workerConnection.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'redis (worker) error'));

  const ai = createAiCoordinator(aiCoordinatorOptionsFromConfig(config, models, shared, logger, { credential, metricsRegistry: metrics.registry }));
  const s3 = createS3Client(config);
  const blobService = createBlobServiceClient(config, isTokenCredential(credential) ? credential : undefined);
  const container = blobService.getContainerClient(config.KEYFRAMES_CONTAINER);
  if (config.APP_PROFILE === 'dev') await container.createIfNotExists();
  else if (!(await container.exists())) {
    throw new Error(`keyframes container "${config.KEYFRAMES_CONTAINER}" does not exist (it is created by the Copilot addon / reconciler)`);
  }

  const workDir = config.WORK_DIR ?? tmpdir();
  await mkdir(workDir, { recursive: true });
  const swept = await sweepOrphanedJobDirs(workDir, config.JOB_TIMEOUT_MS);
  if (swept.length > 0) logger.warn({ event: 'orphaned_job_dirs_removed', count: swept.length, dirs: swept }, 'removed temp dirs left by a killed worker');
  // And periodically: dirs of a worker killed on a shared volume whose jobs were never re-delivered here.
  const sweeper = setInterval(() => {
    sweepOrphanedJobDirs(workDir, config.JOB_TIMEOUT_MS).then(
      (names) => names.length > 0 && logger.warn({ event: 'orphaned_job_dirs_removed', count: names.length, dirs: names }, 'removed orphaned temp dirs'),
      (err: unknown) => logger.error({ err: errorMessage(err) }, 'orphaned temp dir sweep failed'),
    );
  }, config.JOB_TIMEOUT_MS);
  sweeper.unref();

  const deps: PipelineDeps = {
    s3,
    bucket: config.S3_TEMP_BUCKET,
    keyframes: container,
    ai,
    store: new AnalysisStore(shared, config.REDIS_KEY_PREFIX, config.RESULT_RETENTION_DAYS * 24 * 3600),
    contents: new ContentIndex(shared, config.REDIS_KEY_PREFIX, config.RESULT_RETENTION_DAYS * 24 * 3600),
    // A content claim lives as long as a job lock: both say "the worker doing this is alive".
    claims: new ContentClaims(shared, config.REDIS_KEY_PREFIX, { leaseMs: config.JOB_LOCK_DURATION_MS, retryDelayMs: CONTENT_WAIT_MS }),
    logger,
    limits: {
      video: {
        maxBytes: config.VIDEO_MAX_BYTES,
        maxDurationSec: config.VIDEO_MAX_DURATION_SEC,
        maxLongSidePx: config.VIDEO_MAX_LONG_SIDE_PX,
        maxShortSidePx: config.VIDEO_MAX_SHORT_SIDE_PX,
      },
      maxKeyframes: config.KEYFRAMES_MAX,
      visionConcurrency: config.VISION_CONCURRENCY,
      uploadConcurrency: UPLOAD_CONCURRENCY,
      probeTimeoutMs: PROBE_TIMEOUT_MS,
      ffmpegTimeoutMs: config.JOB_TIMEOUT_MS,
    },
    workDir,
  };
  const worker = createAnalysisWorker(workerConnection, deps, {
    queueName: config.QUEUE_NAME,
    prefix: config.REDIS_KEY_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    jobTimeoutMs: config.JOB_TIMEOUT_MS,
    lockDurationMs: config.JOB_LOCK_DURATION_MS,
    stalledIntervalMs: Math.ceil(config.JOB_LOCK_DURATION_MS / 2),
    name: `worker-${hostname()}-${process.pid}`,
  });
  logger.info(
    { event: 'worker_started', queue: config.QUEUE_NAME, concurrency: config.WORKER_CONCURRENCY, models: models.map((m) => `${m.name}:${m.use.join('+')}`), workDir, metricsUrl },
    'worker started',
  );

  return {
    worker,
    workDir,
    metricsUrl,
    stop: async (graceMs) => {
      clearInterval(sweeper);
      const outcome = await closeWorker(worker, graceMs);
      // Before the connection goes: close() settles the post-call writes (usage, quota settlement, cache) of the
      // last calls, waiting at most CLOSE_SETTLE_MS so a stalled Redis cannot hold the shutdown past the grace period.
      await ai.close();
      s3.destroy();
      shared.disconnect();
      workerConnection.disconnect();
      await metricsServer.close(1000);
      return outcome;
    },
  };
}
