/**
 * The video-analysis BullMQ queue: name, job name and default job options in one place.
 * Facts from reference/bullmq-notes.md: custom job ids must not contain `:`; every job gets a priority; completed
 * and failed jobs are trimmed by age and count; retries use exponential backoff.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { AnalysisJobData } from './types.ts';

/** BullMQ job name of an analysis. */
export const ANALYSIS_JOB_NAME = 'analyze-video';

/**
 * Default job options.
 * @param attempts total attempts including the first (JOB_ATTEMPTS).
 */
export function analysisJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/**
 * Opens the producer side of the queue.
 * @param connection an ioredis instance (for the API: `createRedis(url, 'producer')`).
 * @param prefix BullMQ key prefix (REDIS_KEY_PREFIX).
 * @param name queue name (QUEUE_NAME).
 */
export function createAnalysisQueue(connection: ConnectionOptions, prefix: string, name: string): Queue<AnalysisJobData> {
  return new Queue<AnalysisJobData>(name, { connection, prefix });
}
