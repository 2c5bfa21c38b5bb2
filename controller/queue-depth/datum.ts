/**
 * Publishes the worker's queue-depth metric (`sample.ts`) to CloudWatch with PutMetricData, through the same
 * retrying, counting door as every other AWS call of the reconciler (`aws/api-calls.ts`). It never throws: a
 * failure to read the queue or to publish is returned as an outcome, for the caller to count and log, and does
 * not fail the pass. A retried PutMetricData whose first attempt did land stores the same value twice, which
 * leaves the policy's `Average` unchanged. Needs `cloudwatch:PutMetricData` on the `ContentTrends` namespace
 * (copilot/reconciler/addons/reconciler-access.yml).
 */
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { errorMessage } from '../../services/platform/errors.ts';
import type { ObservedState } from '../types.ts';
import { ApiCalls, type ApiCallEvent } from '../aws/api-calls.ts';
import type { RetryOptions } from '../aws/retry.ts';
import { backlogSize, type BacklogReader } from './backlog.ts';
import { QUEUE_DEPTH_UNIT, metricLabel, queueDepthSample, queueMetricOf, type QueueDepthSample } from './sample.ts';

/** What one publication did. `metric` is `namespace/name`. */
export type QueueMetricOutcome =
  | ({ outcome: 'published'; metric: string } & Omit<QueueDepthSample, 'metric'>)
  | { outcome: 'skipped'; metric: string; reason: string }
  | { outcome: 'failed'; metric: string; error: string };

/** Collaborators of {@link publishQueueDepth}. */
export interface QueueMetricDeps {
  cloudwatch: CloudWatchClient;
  /** Reads the analysis queue's backlog (`bullmqBacklog`). */
  backlog: BacklogReader;
  /** Retry settings of PutMetricData (see `aws/retry.ts` for defaults). */
  retry?: Partial<RetryOptions>;
  /** Told about every PutMetricData attempt (metrics). */
  onApiCall?: (e: ApiCallEvent) => void;
  /** Clock (the datum's Timestamp). @defaultValue `() => new Date()` */
  now?: () => Date;
}

/**
 * Publishes one datapoint for a pass.
 * @param observed what the pass saw; `undefined` when it could not observe the cluster (skipped).
 * @returns the outcome, or `undefined` when no service sets `targetQueueDepthPerTask` (nothing scales on it).
 */
export async function publishQueueDepth(desired: DesiredState, observed: ObservedState | undefined, deps: QueueMetricDeps): Promise<QueueMetricOutcome | undefined> {
  const found = queueMetricOf(desired);
  if (!found) return undefined;
  const label = metricLabel(found.metric);
  if (!observed) return { outcome: 'skipped', metric: label, reason: `cluster ${desired.spec.ecs.cluster} was not observed: running tasks unknown` };
  let backlog: number;
  try {
    backlog = backlogSize(await deps.backlog());
  } catch (err) {
    return { outcome: 'failed', metric: label, error: `reading the BullMQ backlog: ${errorMessage(err)}` };
  }
  const sample = queueDepthSample(found.metric, found.services, observed, backlog);
  if ('skip' in sample) return { outcome: 'skipped', metric: label, reason: sample.skip };
  const calls = new ApiCalls(deps.retry, deps.onApiCall);
  try {
    await calls.run('cloudwatch', 'PutMetricData', label, () => deps.cloudwatch.send(new PutMetricDataCommand({
      Namespace: sample.metric.namespace,
      MetricData: [{
        MetricName: sample.metric.metricName,
        Dimensions: sample.metric.dimensions.map((d) => ({ Name: d.name, Value: d.value })),
        Timestamp: (deps.now ?? (() => new Date()))(),
        Value: sample.value,
        Unit: QUEUE_DEPTH_UNIT,
      }],
    })));
  } catch (err) {
    return { outcome: 'failed', metric: label, error: errorMessage(err) };
  }
  const { metric: _metric, ...rest } = sample;
  return { outcome: 'published', metric: label, ...rest };
}
