/**
 * The custom CloudWatch metrics this repository publishes, and who publishes each: the one list that alarms
 * (copilot/environments/addons/alarms.yml) and `cloudwatch:PutMetricData` grants (copilot/<service>/addons/) are
 * checked against (test/copilot/addons.test.ts), and the only metrics the publisher (`publisher.ts`) will send: a
 * datum whose namespace, name, unit or dimension names are not listed here is refused before any request.
 *
 * Both metrics are published by the leading reconciler after each pass, with dimensions `Application` and
 * `Environment` taken from the desired-state document's `metadata.app` / `metadata.environment`, which are the
 * Copilot application and environment names the alarms put in the same dimensions (`${App}`, `${Env}`).
 */
import type { StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { DesiredState } from '../../services/platform/desired-state.ts';
import { QUEUE_DEPTH_METRIC } from '../diff/normalize.ts';

/** One dimension of a datum. */
export interface MetricDimension {
  name: string;
  value: string;
}

/** A metric this repository publishes. */
export interface PublishedMetric {
  namespace: string;
  metricName: string;
  /** CloudWatch unit of every datum. */
  unit: StandardUnit;
  /** Names of the dimensions every datum carries, sorted. */
  dimensionNames: readonly string[];
  /** The Copilot service whose process publishes it (the one that needs the `cloudwatch:PutMetricData` grant). */
  publisher: string;
}

/** Dimension names of the application-wide metrics, sorted: the alarms' `Application` and `Environment`. */
export const APP_DIMENSION_NAMES: readonly string[] = ['Application', 'Environment'];

/**
 * `ContentTrends/QueueDepthPerTask`: waiting BullMQ jobs per running worker task (`controller/queue-depth/`), the
 * metric the worker's queue-depth scaling policy tracks and the queue-backlog alarm reads. Unit `Count` (jobs).
 */
export const QUEUE_DEPTH_PER_TASK: PublishedMetric = {
  namespace: QUEUE_DEPTH_METRIC.namespace,
  metricName: QUEUE_DEPTH_METRIC.metricName,
  unit: 'Count',
  dimensionNames: APP_DIMENSION_NAMES,
  publisher: 'reconciler',
};

/**
 * `ContentTrends/ReconcileErrors`: per reconcile pass, failed reconcile actions + failed passes
 * (`reconcile-errors.ts`); 0 on a clean pass, so the reconcile-errors alarm always has data. Unit `Count`.
 */
export const RECONCILE_ERRORS: PublishedMetric = {
  namespace: QUEUE_DEPTH_METRIC.namespace,
  metricName: 'ReconcileErrors',
  unit: 'Count',
  dimensionNames: APP_DIMENSION_NAMES,
  publisher: 'reconciler',
};

/** Every custom metric published by code in this repository. */
export const PUBLISHED_METRICS: readonly PublishedMetric[] = [QUEUE_DEPTH_PER_TASK, RECONCILE_ERRORS];

/** `Application` = `metadata.app`, `Environment` = `metadata.environment` of the document, sorted by name. */
export function appDimensions(desired: DesiredState): MetricDimension[] {
  return [
    { name: 'Application', value: desired.metadata.app },
    { name: 'Environment', value: desired.metadata.environment },
  ];
}

/** `ContentTrends/ReconcileErrors`, for messages and labels. */
export function metricLabel(m: { namespace: string; metricName: string }): string {
  return `${m.namespace}/${m.metricName}`;
}

/**
 * Why a datum may not be published, if it may not.
 * @returns `undefined` when its namespace, name, unit and dimension names match an entry of {@link PUBLISHED_METRICS}.
 */
export function catalogProblem(d: { namespace: string; metricName: string; unit: string; dimensions: readonly MetricDimension[] }): string | undefined {
  const label = metricLabel(d);
  const entry = PUBLISHED_METRICS.find((m) => m.namespace === d.namespace && m.metricName === d.metricName);
  if (!entry) return `${label} is not in PUBLISHED_METRICS (controller/metrics-publisher/catalog.ts)`;
  if (entry.unit !== d.unit) return `${label}: unit ${d.unit}, the catalog says ${entry.unit}`;
  const names = d.dimensions.map((x) => x.name).sort();
  if (names.join(',') !== entry.dimensionNames.join(',')) return `${label}: dimensions [${names.join(', ')}], the catalog says [${entry.dimensionNames.join(', ')}]`;
  return undefined;
}
