/**
 * The backlog the worker's queue-depth scaling follows: BullMQ jobs of the analysis queue that are ready to run
 * and not yet taken by a worker, counted with BullMQ's own `getJobCounts` (reference/bullmq-notes.md).
 *
 * Counted: `waiting` and `prioritized`. The API gives every job a priority (services/analyses/queue.ts), and
 * BullMQ keeps prioritized jobs in their own set, not in the waiting list, so counting `waiting` alone would read
 * 0 whatever the backlog. Not counted: `active` (already on a task: more tasks would not take them sooner),
 * `delayed` (retry back-offs of seconds: not runnable yet, they come back as waiting/prioritized), and
 * `waiting-children` (the pipeline has no flows).
 */
import type { Queue } from 'bullmq';

/** Job counts of the analysis queue that make up the backlog. */
export interface QueueBacklog {
  /** Jobs without a priority, ready to run. */
  waiting: number;
  /** Jobs with a priority, ready to run (every API-submitted job). */
  prioritized: number;
}

/** Reads the backlog now. @throws when Redis cannot be read. */
export type BacklogReader = () => Promise<QueueBacklog>;

/** Jobs ready to run and not taken: `waiting + prioritized`. */
export function backlogSize(b: QueueBacklog): number {
  return b.waiting + b.prioritized;
}

/**
 * A {@link BacklogReader} over a BullMQ queue (the producer side of QUEUE_NAME under REDIS_KEY_PREFIX).
 * @throws (from the reader) the Redis error, when the counts cannot be read.
 */
export function bullmqBacklog(queue: Pick<Queue, 'getJobCounts'>): BacklogReader {
  return async () => {
    const counts = await queue.getJobCounts('waiting', 'prioritized');
    return { waiting: counts.waiting ?? 0, prioritized: counts.prioritized ?? 0 };
  };
}
