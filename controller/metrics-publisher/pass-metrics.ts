/**
 * The CloudWatch metrics of one reconcile pass, sent in one PutMetricData (`publisher.ts`): the worker's queue
 * depth (`../queue-depth/`, when a backlog reader is given) and `ContentTrends/ReconcileErrors`
 * (`reconcile-errors.ts`). The loop calls it after every pass of the leader, finished or failed; it never throws.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import type { DriftReport, ObservedState } from '../types.ts';
import type { BacklogReader } from '../queue-depth/backlog.ts';
import { prepareQueueDepth, type QueueMetricOutcome } from '../queue-depth/datum.ts';
import { RECONCILE_ERRORS, appDimensions, metricLabel } from './catalog.ts';
import { putMetricData, type MetricDatum, type MetricPublisherDeps } from './publisher.ts';
import { countReconcileErrors, type ReconcileErrorCount } from './reconcile-errors.ts';

/** What is known of a pass when its metrics are published. */
export interface PassFacts {
  /** The document the pass reconciled; for a pass that failed before reading one, the last valid one, if any. */
  desired?: DesiredState;
  /** What the pass read; absent when the cluster could not be observed or the pass failed before. */
  observed?: ObservedState;
  /** The pass's report; absent when the pass failed before it had one. */
  report?: DriftReport;
  /** Why the pass failed, when it did. */
  failure?: string;
  /** Whether a resource id is backing off after a failed write. @defaultValue never */
  isBackedOff?: (resource: string) => boolean;
}

/** What the ReconcileErrors publication did. `metric` is `namespace/name`. */
export type ReconcileErrorsOutcome =
  | ({ outcome: 'published'; metric: string } & ReconcileErrorCount)
  | { outcome: 'skipped'; metric: string; reason: string }
  | ({ outcome: 'failed'; metric: string; error: string } & ReconcileErrorCount);

/** What one pass's publication did; `queueDepth` is absent when there was no queue-depth metric to consider. */
export interface PassMetricsOutcome {
  queueDepth?: QueueMetricOutcome;
  reconcileErrors: ReconcileErrorsOutcome;
}

/** Publishes the metrics of a pass; never throws. */
export type PassMetricsPublisher = (facts: PassFacts) => Promise<PassMetricsOutcome>;

/** Collaborators of {@link passMetricsPublisher}. */
export interface PassMetricsDeps extends MetricPublisherDeps {
  /** Reads the analysis queue's backlog; without it the queue-depth metric is not published (RECONCILE_PUBLISH_QUEUE_METRIC). */
  backlog?: BacklogReader;
}

/**
 * A {@link PassMetricsPublisher}. Queue depth is considered for a finished pass (skipped, with the reason, when the
 * cluster was not observed) and for a failed pass that still observed; ReconcileErrors for every pass, skipped
 * only when no valid desired state was ever read (its dimensions are unknown).
 */
export function passMetricsPublisher(deps: PassMetricsDeps): PassMetricsPublisher {
  const label = metricLabel(RECONCILE_ERRORS);
  return async (facts) => {
    const data: MetricDatum[] = [];
    let queueDepth: QueueMetricOutcome | undefined;
    let queuePublished: QueueMetricOutcome | undefined;
    if (deps.backlog && facts.desired && (facts.observed || facts.failure === undefined)) {
      const prepared = await prepareQueueDepth(facts.desired, facts.observed, deps.backlog);
      if (prepared && 'datum' in prepared) {
        data.push(prepared.datum);
        queuePublished = prepared.published;
      } else {
        queueDepth = prepared;
      }
    }
    const count = countReconcileErrors(facts, facts.isBackedOff ?? (() => false));
    if (facts.desired) {
      data.push({ namespace: RECONCILE_ERRORS.namespace, metricName: RECONCILE_ERRORS.metricName, dimensions: appDimensions(facts.desired), value: count.value, unit: RECONCILE_ERRORS.unit });
    }
    const put = await putMetricData(data, deps);
    if (queuePublished) queueDepth = put.ok ? queuePublished : { outcome: 'failed', metric: queuePublished.metric, error: put.error };
    const reconcileErrors: ReconcileErrorsOutcome = !facts.desired
      ? { outcome: 'skipped', metric: label, reason: `no valid desired state was read yet: Application and Environment unknown (${count.value} error${count.value === 1 ? '' : 's'} not published)` }
      : put.ok ? { outcome: 'published', metric: label, ...count } : { outcome: 'failed', metric: label, error: put.error, ...count };
    return { ...(queueDepth ? { queueDepth } : {}), reconcileErrors };
  };
}
