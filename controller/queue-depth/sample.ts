/**
 * What the reconciler publishes as the worker's queue-depth metric, computed from one pass's observation: a pure
 * function, so the value, the metric identity and the zero-task rule are tested without CloudWatch.
 *
 * Value = backlog (waiting + prioritized jobs, `backlog.ts`) ÷ running tasks of every service whose autoscaling
 * sets `targetQueueDepthPerTask` (the queue's consumers; normally only `worker`), the "backlog per task" of the
 * Application Auto Scaling user guide's customized-metric example. With **no running task** the divisor is 1:
 * the value stays finite (CloudWatch refuses NaN and infinities) and equals the whole backlog, so a backlog still
 * reads above any target and asks for capacity, and an empty queue reads 0. A consumer that was not observed
 * (not found, or its observation failed) makes the running count unknown: nothing is published for that pass
 * rather than a wrong value (target tracking treats missing data as "no change").
 *
 * Namespace, name and dimensions come from the same `desiredPolicies` expansion that writes the scaling policy's
 * CustomizedMetricSpecification (`diff/normalize.ts`), so metric and policy cannot disagree. Unit `Count` (jobs,
 * `QUEUE_DEPTH_PER_TASK` in `../metrics-publisher/catalog.ts`); the policy names no unit, so CloudWatch matches
 * the datapoints whatever their unit.
 */
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { desiredPolicies } from '../diff/normalize.ts';
import type { ObservedState } from '../types.ts';

/** Identity of the queue-depth metric: exactly the policy's CustomizedMetricSpecification. */
export interface QueueMetricIdentity {
  namespace: string;
  metricName: string;
  /** Sorted by name. */
  dimensions: { name: string; value: string }[];
}

/** One value to publish. */
export interface QueueDepthSample {
  metric: QueueMetricIdentity;
  /** Backlog ÷ max(running tasks, 1), jobs per task. */
  value: number;
  backlog: number;
  runningTasks: number;
  /** Desired service keys whose tasks were counted. */
  services: string[];
}

/**
 * The queue-depth metric the document's policies scale on, with the services that consume the queue.
 * @returns `undefined` when no service sets `autoscaling.targetQueueDepthPerTask` (nothing to publish).
 */
export function queueMetricOf(desired: DesiredState): { metric: QueueMetricIdentity; services: string[] } | undefined {
  let metric: QueueMetricIdentity | undefined;
  const services: string[] = [];
  for (const name of Object.keys(desired.spec.ecs.services).sort()) {
    const policy = desiredPolicies(desired, name).find((p) => p.target === 'queueDepth');
    if (policy?.metric.kind !== 'customized') continue;
    metric ??= { namespace: policy.metric.namespace, metricName: policy.metric.metricName, dimensions: policy.metric.dimensions.map((d) => ({ ...d })) };
    services.push(name);
  }
  return metric ? { metric, services } : undefined;
}

/** `ContentTrends/QueueDepthPerTask`, for messages and labels. */
export function metricLabel(m: QueueMetricIdentity): string {
  return `${m.namespace}/${m.metricName}`;
}

/**
 * The sample for one pass.
 * @param backlog jobs ready to run (see `backlog.ts`).
 * @returns the sample, or `{ skip }` saying why the running task count is unknown.
 */
export function queueDepthSample(
  metric: QueueMetricIdentity,
  services: readonly string[],
  observed: ObservedState,
  backlog: number,
): QueueDepthSample | { skip: string } {
  let runningTasks = 0;
  for (const name of services) {
    const state = observed.services[name];
    if (state?.error !== undefined) return { skip: `service ${name} was not observed: ${state.error}` };
    if (!state?.service) return { skip: `service ${name} was not found in cluster ${observed.cluster.name}` };
    runningTasks += state.service.runningCount;
  }
  return { metric, value: backlog / Math.max(runningTasks, 1), backlog, runningTasks, services: [...services] };
}
