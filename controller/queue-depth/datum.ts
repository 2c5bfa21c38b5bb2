/**
 * The worker's queue-depth datum for one pass (`sample.ts`), ready for the metric publisher
 * (`../metrics-publisher/`), which sends it in the pass's one PutMetricData. Reading the backlog may fail and the
 * running task count may be unknown: both are returned as outcomes, for the caller to count and log, and never
 * fail the pass.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { errorMessage } from '../../services/platform/errors.ts';
import type { ObservedState } from '../types.ts';
import { QUEUE_DEPTH_PER_TASK } from '../metrics-publisher/catalog.ts';
import type { MetricDatum } from '../metrics-publisher/publisher.ts';
import { backlogSize, type BacklogReader } from './backlog.ts';
import { metricLabel, queueDepthSample, queueMetricOf, type QueueDepthSample } from './sample.ts';

/** What one publication did. `metric` is `namespace/name`. */
export type QueueMetricOutcome =
  | ({ outcome: 'published'; metric: string } & Omit<QueueDepthSample, 'metric'>)
  | { outcome: 'skipped'; metric: string; reason: string }
  | { outcome: 'failed'; metric: string; error: string };

/** A datum to send, with the outcome to report once it was sent. */
export interface QueueDepthDatum {
  datum: MetricDatum;
  /** The outcome when the datum was stored. */
  published: Extract<QueueMetricOutcome, { outcome: 'published' }>;
}

/**
 * The queue-depth datum of a pass.
 * @param observed what the pass saw; `undefined` when it could not observe the cluster (skipped).
 * @returns the datum, an outcome saying why there is none (skipped, or the backlog could not be read), or
 *   `undefined` when no service sets `targetQueueDepthPerTask` (nothing scales on it). Never throws.
 */
export async function prepareQueueDepth(desired: DesiredState, observed: ObservedState | undefined, backlog: BacklogReader): Promise<QueueDepthDatum | QueueMetricOutcome | undefined> {
  const found = queueMetricOf(desired);
  if (!found) return undefined;
  const label = metricLabel(found.metric);
  if (!observed) return { outcome: 'skipped', metric: label, reason: `cluster ${desired.spec.ecs.cluster} was not observed: running tasks unknown` };
  let jobs: number;
  try {
    jobs = backlogSize(await backlog());
  } catch (err) {
    return { outcome: 'failed', metric: label, error: `reading the BullMQ backlog: ${errorMessage(err)}` };
  }
  const sample = queueDepthSample(found.metric, found.services, observed, jobs);
  if ('skip' in sample) return { outcome: 'skipped', metric: label, reason: sample.skip };
  const { metric, ...rest } = sample;
  return {
    datum: { namespace: metric.namespace, metricName: metric.metricName, dimensions: metric.dimensions, value: sample.value, unit: QUEUE_DEPTH_PER_TASK.unit },
    published: { outcome: 'published', metric: label, ...rest },
  };
}
