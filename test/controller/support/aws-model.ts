/**
 * A pure in-memory model of what ECS and Application Auto Scaling do with the reconciler's three writes, applied
 * to an ObservedState (what the next observation would then read). Written from the API references, not from
 * the controller's code: UpdateService sets only the fields it is given; RegisterScalableTarget creates the
 * target (suspended flags false) or updates the fields given; PutScalingPolicy replaces the policy of that name
 * or adds it (Application Auto Scaling default cooldown 300 s when none is given).
 */
import type { PlannedWrite } from '../../../controller/act/plan-writes.ts';
import type { ObservedPolicy, ObservedServiceState, ObservedState } from '../../../controller/types.ts';

function byLiveName(o: ObservedState, name: string | undefined): ObservedServiceState | undefined {
  return Object.values(o.services).find((s) => s.service?.name === name);
}

function byResourceId(o: ObservedState, resourceId: string | undefined): ObservedServiceState | undefined {
  const name = resourceId?.split('/')[2];
  return byLiveName(o, name);
}

/**
 * Applies one write to `o` in place.
 * @throws Error when the write names a service the state does not have (the real API would answer
 *   ServiceNotFoundException / ObjectNotFoundException).
 */
export function applyWriteToModel(o: ObservedState, w: PlannedWrite): void {
  if (w.operation === 'UpdateService') {
    const s = byLiveName(o, w.input.service)?.service;
    if (!s) throw new Error(`model: no service ${String(w.input.service)}`);
    if (w.input.desiredCount !== undefined) s.desiredCount = w.input.desiredCount;
    if (w.input.enableExecuteCommand !== undefined) s.enableExecuteCommand = w.input.enableExecuteCommand;
    const c = w.input.deploymentConfiguration;
    if (c) {
      if (c.strategy !== undefined) s.deployment.strategy = c.strategy;
      if (c.bakeTimeInMinutes !== undefined) s.deployment.bakeTimeMinutes = c.bakeTimeInMinutes;
      if (c.minimumHealthyPercent !== undefined) s.deployment.minimumHealthyPercent = c.minimumHealthyPercent;
      if (c.maximumPercent !== undefined) s.deployment.maximumPercent = c.maximumPercent;
      if (c.deploymentCircuitBreaker) s.deployment.circuitBreaker = { enable: c.deploymentCircuitBreaker.enable ?? false, rollback: c.deploymentCircuitBreaker.rollback ?? false };
    }
    return;
  }
  if (w.operation !== 'RegisterScalableTarget' && w.operation !== 'PutScalingPolicy') throw new Error(`model: ${w.operation} (storage) is not modelled`);
  const state = byResourceId(o, w.input.ResourceId);
  if (!state) throw new Error(`model: no service for ${String(w.input.ResourceId)}`);
  if (w.operation === 'RegisterScalableTarget') {
    const i = w.input;
    const t = state.scalableTarget ?? { resourceId: i.ResourceId!, minCapacity: i.MinCapacity ?? 0, maxCapacity: i.MaxCapacity ?? 0, suspended: { dynamicScalingIn: false, dynamicScalingOut: false, scheduled: false } };
    if (i.MinCapacity !== undefined) t.minCapacity = i.MinCapacity;
    if (i.MaxCapacity !== undefined) t.maxCapacity = i.MaxCapacity;
    const sus = i.SuspendedState;
    if (sus) {
      if (sus.DynamicScalingInSuspended !== undefined) t.suspended.dynamicScalingIn = sus.DynamicScalingInSuspended;
      if (sus.DynamicScalingOutSuspended !== undefined) t.suspended.dynamicScalingOut = sus.DynamicScalingOutSuspended;
      if (sus.ScheduledScalingSuspended !== undefined) t.suspended.scheduled = sus.ScheduledScalingSuspended;
    }
    state.scalableTarget = t;
    return;
  }
  if (!state.scalableTarget) throw new Error(`model: PutScalingPolicy before its scalable target ${String(w.input.ResourceId)}`);
  const cfg = w.input.TargetTrackingScalingPolicyConfiguration;
  if (!cfg) throw new Error('model: only target tracking is modelled');
  const pre = cfg.PredefinedMetricSpecification;
  const cust = cfg.CustomizedMetricSpecification;
  const policy: ObservedPolicy = {
    name: w.input.PolicyName!,
    arn: `arn:model:policy/${w.input.ResourceId}/${w.input.PolicyName}`,
    policyType: 'TargetTrackingScaling',
    metric: pre
      ? { kind: 'predefined', type: pre.PredefinedMetricType!, ...(pre.ResourceLabel ? { resourceLabel: pre.ResourceLabel } : {}) }
      : cust
        ? {
            kind: 'customized', namespace: cust.Namespace!, metricName: cust.MetricName!, ...(cust.Statistic ? { statistic: cust.Statistic } : {}),
            dimensions: (cust.Dimensions ?? []).map((d) => ({ name: d.Name!, value: d.Value! })),
          }
        : { kind: 'other' },
    targetValue: cfg.TargetValue!,
    scaleInCooldownSec: cfg.ScaleInCooldown ?? 300,
    scaleOutCooldownSec: cfg.ScaleOutCooldown ?? 300,
    disableScaleIn: cfg.DisableScaleIn ?? false,
  };
  const at = state.policies.findIndex((p) => p.name === policy.name);
  if (at >= 0) state.policies[at] = policy;
  else state.policies.push(policy);
}
