/**
 * Observer of Application Auto Scaling for ECS services. Reads only:
 * - DescribeScalableTargets filtered by ResourceIds (at most 50 per call) and the ECS dimension, paginated with
 *   MaxResults 50 (the API's maximum; reference/operator-anchors.md §8);
 * - DescribeScalingPolicies per resource that has a target, paginated with MaxResults 10 (≈ the API's maximum);
 *   or, when it takes fewer calls, once for the whole `ecs` namespace (every policy of the account and region,
 *   ceil(P / 10) pages) filtered here. P is unknown before the first namespace-wide read, so the choice uses the
 *   count remembered in {@link ScalingReadHints} (kept per process like the task-definition cache): with no
 *   hint, many targets (≥ {@link NAMESPACE_PROBE_MIN_TARGETS}) try the namespace-wide read once to learn P.
 * A service without a scalable target has no policies (deregistering a target deletes them), so none are read.
 */
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
  type ApplicationAutoScalingClient,
  type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import { ECS_SCALABLE_DIMENSION, ECS_SERVICE_NAMESPACE, type ObservedPolicy, type ObservedScalableTarget, type PolicyMetric } from '../types.ts';
import { errorMessage } from '../../services/platform/errors.ts';
import type { ApiCalls } from '../aws/api-calls.ts';

/** DescribeScalableTargets: at most 50 results per page (Application Auto Scaling API reference). */
export const SCALABLE_TARGETS_PAGE = 50;
/** DescribeScalableTargets: resource ids per call; kept at the page size so one id gives at most one row. */
export const RESOURCE_IDS_PER_CALL = 50;
/** DescribeScalingPolicies: results per page. */
export const SCALING_POLICIES_PAGE = 10;

/** With at least this many targets and no hint, policies are read namespace-wide once to learn their count. */
export const NAMESPACE_PROBE_MIN_TARGETS = 20;

/** What earlier passes learnt about the account, to pick the cheaper read (mutable; one per process). */
export interface ScalingReadHints {
  /** ECS scaling policies in the namespace at the last namespace-wide read. */
  namespacePolicies?: number;
}

/** What the observer needs. */
export interface ScalingObserverDeps {
  autoscaling: ApplicationAutoScalingClient;
  calls: ApiCalls;
  /** Read hints kept across passes. @defaultValue none: policies are read per target */
  scalingHints?: ScalingReadHints;
}

/** Targets and policies by resource id (`service/<cluster>/<service>`). */
export interface ScalingObservation {
  targets: Map<string, ObservedScalableTarget>;
  policies: Map<string, ObservedPolicy[]>;
  /** Resource ids whose policies could not be read (after retries), with the error: only those services fail. */
  policyErrors: Map<string, string>;
}

function metricOf(p: ScalingPolicy): PolicyMetric {
  const c = p.TargetTrackingScalingPolicyConfiguration;
  const pre = c?.PredefinedMetricSpecification;
  if (pre?.PredefinedMetricType) return { kind: 'predefined', type: pre.PredefinedMetricType, ...(pre.ResourceLabel ? { resourceLabel: pre.ResourceLabel } : {}) };
  const cm = c?.CustomizedMetricSpecification;
  if (cm?.MetricName && cm.Namespace) {
    return {
      kind: 'customized',
      namespace: cm.Namespace,
      metricName: cm.MetricName,
      ...(cm.Statistic ? { statistic: cm.Statistic } : {}),
      ...(cm.Unit ? { unit: cm.Unit } : {}),
      dimensions: (cm.Dimensions ?? []).map((d) => ({ name: d.Name ?? '', value: d.Value ?? '' })),
    };
  }
  return { kind: 'other' };
}

/** Maps an SDK policy to the observed shape (fields absent when the API omitted them). */
export function toObservedPolicy(p: ScalingPolicy): ObservedPolicy {
  const c = p.TargetTrackingScalingPolicyConfiguration;
  return {
    name: p.PolicyName ?? '',
    arn: p.PolicyARN ?? '',
    policyType: p.PolicyType ?? 'unknown',
    metric: metricOf(p),
    ...(c?.TargetValue !== undefined ? { targetValue: c.TargetValue } : {}),
    ...(c?.ScaleInCooldown !== undefined ? { scaleInCooldownSec: c.ScaleInCooldown } : {}),
    ...(c?.ScaleOutCooldown !== undefined ? { scaleOutCooldownSec: c.ScaleOutCooldown } : {}),
    ...(c?.DisableScaleIn !== undefined ? { disableScaleIn: c.DisableScaleIn } : {}),
  };
}

async function describeTargets(resourceIds: string[], deps: ScalingObserverDeps): Promise<Map<string, ObservedScalableTarget>> {
  const targets = new Map<string, ObservedScalableTarget>();
  for (let i = 0; i < resourceIds.length; i += RESOURCE_IDS_PER_CALL) {
    const ids = resourceIds.slice(i, i + RESOURCE_IDS_PER_CALL);
    let NextToken: string | undefined;
    do {
      const page = await deps.calls.run('application-autoscaling', 'DescribeScalableTargets', ids.join(','), () =>
        deps.autoscaling.send(
          new DescribeScalableTargetsCommand({
            ServiceNamespace: ECS_SERVICE_NAMESPACE,
            ResourceIds: ids,
            ScalableDimension: ECS_SCALABLE_DIMENSION,
            MaxResults: SCALABLE_TARGETS_PAGE,
            ...(NextToken ? { NextToken } : {}),
          }),
        ),
      );
      for (const t of page.ScalableTargets ?? []) {
        if (!t.ResourceId) continue;
        const s = t.SuspendedState;
        targets.set(t.ResourceId, {
          resourceId: t.ResourceId,
          minCapacity: t.MinCapacity ?? 0,
          maxCapacity: t.MaxCapacity ?? 0,
          suspended: {
            ...(s?.DynamicScalingInSuspended !== undefined ? { dynamicScalingIn: s.DynamicScalingInSuspended } : {}),
            ...(s?.DynamicScalingOutSuspended !== undefined ? { dynamicScalingOut: s.DynamicScalingOutSuspended } : {}),
            ...(s?.ScheduledScalingSuspended !== undefined ? { scheduled: s.ScheduledScalingSuspended } : {}),
          },
        });
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return targets;
}

async function describePolicies(resourceId: string, deps: ScalingObserverDeps): Promise<ObservedPolicy[]> {
  const out: ObservedPolicy[] = [];
  let NextToken: string | undefined;
  do {
    const page = await deps.calls.run('application-autoscaling', 'DescribeScalingPolicies', resourceId, () =>
      deps.autoscaling.send(
        new DescribeScalingPoliciesCommand({
          ServiceNamespace: ECS_SERVICE_NAMESPACE,
          ResourceId: resourceId,
          ScalableDimension: ECS_SCALABLE_DIMENSION,
          MaxResults: SCALING_POLICIES_PAGE,
          ...(NextToken ? { NextToken } : {}),
        }),
      ),
    );
    out.push(...(page.ScalingPolicies ?? []).map(toObservedPolicy));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Every scaling policy of the `ecs` namespace (all clusters), grouped by resource id; records the total in `hints`. */
async function describeNamespacePolicies(deps: ScalingObserverDeps, hints: ScalingReadHints): Promise<Map<string, ObservedPolicy[]>> {
  const out = new Map<string, ObservedPolicy[]>();
  let total = 0;
  let NextToken: string | undefined;
  do {
    const page = await deps.calls.run('application-autoscaling', 'DescribeScalingPolicies', ECS_SERVICE_NAMESPACE, () =>
      deps.autoscaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: ECS_SERVICE_NAMESPACE, MaxResults: SCALING_POLICIES_PAGE, ...(NextToken ? { NextToken } : {}) })),
    );
    for (const p of page.ScalingPolicies ?? []) {
      total++;
      if (!p.ResourceId || p.ScalableDimension !== ECS_SCALABLE_DIMENSION) continue;
      out.set(p.ResourceId, [...(out.get(p.ResourceId) ?? []), toObservedPolicy(p)]);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  hints.namespacePolicies = total;
  return out;
}

/** Whether one namespace-wide read is expected to take fewer calls than one read per target. */
function namespaceWideIsCheaper(targets: number, hints: ScalingReadHints | undefined): boolean {
  if (!hints) return false;
  if (hints.namespacePolicies === undefined) return targets >= NAMESPACE_PROBE_MIN_TARGETS;
  return Math.max(1, Math.ceil(hints.namespacePolicies / SCALING_POLICIES_PAGE)) < targets;
}

/**
 * Reads the scalable targets and policies of the given ECS resource ids. A policy read that fails after its
 * retries is recorded in `policyErrors` for that resource only; the others are still read.
 * @throws AwsCallError when a DescribeScalableTargets read fails after retries (nothing can be compared).
 */
export async function observeScaling(resourceIds: readonly string[], deps: ScalingObserverDeps): Promise<ScalingObservation> {
  const ids = [...new Set(resourceIds)].sort();
  const targets = ids.length > 0 ? await describeTargets(ids, deps) : new Map<string, ObservedScalableTarget>();
  const policies = new Map<string, ObservedPolicy[]>();
  const policyErrors = new Map<string, string>();
  const withTargets = ids.filter((id) => targets.has(id));
  if (deps.scalingHints && namespaceWideIsCheaper(withTargets.length, deps.scalingHints)) {
    try {
      const all = await describeNamespacePolicies(deps, deps.scalingHints);
      for (const id of ids) policies.set(id, all.get(id) ?? []);
    } catch (err) {
      for (const id of ids) {
        policies.set(id, []);
        if (targets.has(id)) policyErrors.set(id, errorMessage(err));
      }
    }
    return { targets, policies, policyErrors };
  }
  for (const id of ids) {
    try {
      policies.set(id, targets.has(id) ? await describePolicies(id, deps) : []);
    } catch (err) {
      policyErrors.set(id, errorMessage(err));
      policies.set(id, []);
    }
  }
  return { targets, policies, policyErrors };
}
