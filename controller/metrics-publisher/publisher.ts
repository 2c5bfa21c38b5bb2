/**
 * Sends custom metric data to CloudWatch with PutMetricData, through the same retrying, counting door as every
 * other AWS call of the reconciler (`aws/api-calls.ts`): one request per namespace (all of ours share
 * `ContentTrends`, so one per pass), every datum stamped with the same time. It never throws: a refused datum or a
 * failed request is returned, for the caller to report and log, and does not fail the pass. A retried request
 * whose first attempt did land stores the values twice, which leaves `Average` unchanged and can only raise a
 * `Sum` already above 0 (the alarms' thresholds are "> 0" or averages). Only metrics listed in `catalog.ts` are
 * sent; needs `cloudwatch:PutMetricData` on their namespace (copilot/reconciler/addons/reconciler-access.yml).
 */
import { PutMetricDataCommand, type CloudWatchClient, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { errorMessage } from '../../services/platform/errors.ts';
import { ApiCalls, type ApiCallEvent } from '../aws/api-calls.ts';
import type { RetryOptions } from '../aws/retry.ts';
import { catalogProblem, metricLabel, type MetricDimension } from './catalog.ts';

/** One value to publish. */
export interface MetricDatum {
  namespace: string;
  metricName: string;
  dimensions: readonly MetricDimension[];
  /** Finite (CloudWatch refuses NaN and infinities). */
  value: number;
  unit: StandardUnit;
}

/** Collaborators of {@link putMetricData}. */
export interface MetricPublisherDeps {
  cloudwatch: CloudWatchClient;
  /** Retry settings of PutMetricData (see `aws/retry.ts` for defaults). */
  retry?: Partial<RetryOptions>;
  /** Told about every PutMetricData attempt (metrics). */
  onApiCall?: (e: ApiCallEvent) => void;
  /** Clock (the data's Timestamp). @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** What one publication did; `error` names the metrics and the cause (AWS error name, message, HTTP status). */
export type PutResult = { ok: true } | { ok: false; error: string };

/**
 * Publishes `data` (nothing is sent when it is empty).
 * @returns `{ ok: false }` without sending anything when a datum is not in the catalog or not finite; else
 *   `{ ok: false }` when a request failed after its retries (data of other namespaces may have been stored).
 */
export async function putMetricData(data: readonly MetricDatum[], deps: MetricPublisherDeps): Promise<PutResult> {
  for (const d of data) {
    const problem = catalogProblem(d) ?? (Number.isFinite(d.value) ? undefined : `${metricLabel(d)}: value ${d.value} is not finite`);
    if (problem !== undefined) return { ok: false, error: `not published: ${problem}` };
  }
  const byNamespace = new Map<string, MetricDatum[]>();
  for (const d of data) byNamespace.set(d.namespace, [...(byNamespace.get(d.namespace) ?? []), d]);
  const calls = new ApiCalls(deps.retry, deps.onApiCall);
  const timestamp = (deps.now ?? (() => new Date()))();
  for (const [namespace, items] of byNamespace) {
    try {
      await calls.run('cloudwatch', 'PutMetricData', items.map(metricLabel).join(', '), () => deps.cloudwatch.send(new PutMetricDataCommand({
        Namespace: namespace,
        MetricData: items.map((d) => ({
          MetricName: d.metricName,
          Dimensions: d.dimensions.map((x) => ({ Name: x.name, Value: x.value })),
          Timestamp: timestamp,
          Value: d.value,
          Unit: d.unit,
        })),
      })));
    } catch (err) {
      return { ok: false, error: errorMessage(err) };
    }
  }
  return { ok: true };
}
