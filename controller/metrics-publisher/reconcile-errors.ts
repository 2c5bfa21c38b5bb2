/**
 * `ContentTrends/ReconcileErrors` for one pass: a pure count, so what counts is tested without CloudWatch.
 *
 * Value = failed reconcile actions + failed passes, published after every pass of the leader, 0 on a clean one
 * (the alarm then has a datapoint per pass, and silence means the reconciler is not reporting at all):
 * - failed actions: every error of the report tied to a resource (a write that failed after its retries, a
 *   service, bucket, container or model that could not be read), plus every resource still drifted whose last
 *   write failed and that is waiting out its write back-off (`resource-backoff.ts`). A resource backing off is
 *   not written, so it reports no error, but its drift is still not corrected; counting it keeps the datapoints
 *   above 0 between retries that are up to RECONCILE_BACKOFF_CAP_MS (15 min) apart, longer than the alarm's
 *   5-minute periods, so the alarm does not go back to OK while the failure lasts.
 * - failed passes: 1 when the pass could not run (no valid desired state, Redis, an unexpected error) or saw
 *   nothing (an error without a resource: the cluster could not be read, the rule the loop backs off on).
 */
import type { DriftReport } from '../types.ts';

/** What is known of a pass when its errors are counted. */
export interface PassErrorFacts {
  /** The pass's report; absent when the pass failed before it had one. */
  report?: DriftReport;
  /** Why the pass failed, when it did (the loop's `passFailed`). */
  failure?: string;
}

/** The count and its parts. */
export interface ReconcileErrorCount {
  /** `failedActions + failedPasses`, the published value. */
  value: number;
  /** Resource errors of the report plus {@link backedOff}. */
  failedActions: number;
  /** Resources still drifted and backing off after a failed write, not already among the report's errors. */
  backedOff: number;
  /** 0 or 1. */
  failedPasses: number;
}

/**
 * Counts the errors of a pass.
 * @param isBackedOff whether a resource id (`scaling-policy/worker/…`) has a failed write it is backing off from.
 */
export function countReconcileErrors(pass: PassErrorFacts, isBackedOff: (resource: string) => boolean): ReconcileErrorCount {
  const errors = pass.report?.errors ?? [];
  const withResource = errors.filter((e) => e.resource !== undefined);
  const reported = new Set(withResource.map((e) => e.resource));
  const backedOff = (pass.report?.resources ?? []).filter((r) => r.unwritten !== undefined && !reported.has(r.resource) && isBackedOff(r.resource)).length;
  const failedActions = withResource.length + backedOff;
  const failedPasses = pass.failure !== undefined || errors.some((e) => e.resource === undefined) ? 1 : 0;
  return { value: failedActions + failedPasses, failedActions, backedOff, failedPasses };
}
